# find_package(message_hub) for programs built on the installed client
# library: target message_hub::hub_client.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(Protobuf)
find_dependency(gRPC CONFIG)
find_dependency(absl CONFIG)
find_dependency(nlohmann_json)
include("${CMAKE_CURRENT_LIST_DIR}/message_hub_targets.cmake")
