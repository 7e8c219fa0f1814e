# hubd, hubctl and the adapters on Debian bookworm (docs/deploy.md). The build stage runs
# the same commands as `make build` (scripts/install-deps, then CMake); the
# final stage holds only the runtime libraries, as a non-root user.
#
#   docker build -t message-hub/hubd .
FROM debian:bookworm AS build
# A CA bundle for npm, when the registry is reached through a proxy that
# inspects TLS (scripts/build-image passes the build machine's); a build
# argument, so it stays out of the image.
ARG NPM_CONFIG_CAFILE
WORKDIR /src
COPY . .
# The project's own installer: the Debian packages, and the npm packages
# whose protos the build compiles (grpc.health.v1, google.pubsub.v1).
RUN scripts/install-deps && rm -rf /var/lib/apt/lists/*
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build build -j"$(nproc)" --target hubd hubctl \
      hub-file-source hub-http-ingress hub-webhook-sink hub-pg-outbox \
 && strip build/services/hubd build/hubctl/hubctl build/adapters/hub-*

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libgrpc++1.51 libgrpc29 libprotobuf32 libprotoc32 libavro23 libabsl20220623 libpqxx-6.4 \
      libprometheus-cpp-core1.0 libcivetweb1 libyaml-cpp0.7 libcurl4 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 hub \
 && useradd --system --uid 10001 --gid hub --no-create-home --shell /usr/sbin/nologin hub
COPY --from=build /src/build/services/hubd /src/build/hubctl/hubctl /src/build/adapters/hub-* \
     /usr/local/bin/
USER 10001:10001
# gRPC, and /metrics /healthz /readyz.
EXPOSE 50051 9464
ENV HUB_LISTEN=0.0.0.0:50051 HUB_METRICS_LISTEN=0.0.0.0:9464
ENTRYPOINT ["/usr/local/bin/hubd"]
