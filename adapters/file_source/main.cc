// hub-file-source: tails log files onto a topic (docs/adapters.md).
#include "adapters/file_source/file_source.h"

int main(int argc, char** argv) {
  return hub::adapters::AdapterMain<hub::adapters::FileSource>(argc, argv, "file_source");
}
