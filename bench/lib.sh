# Shell helpers of bench/run and bench/p8-servers (sourced).

# A TCP port nothing listens on, on loopback.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# Waits up to a minute until something listens on port $1 ($2 names it).
wait_port() {
  for _ in $(seq 1 120); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.5
  done
  echo "bench: nothing listens on port $1 ($2)" >&2
  return 1
}
