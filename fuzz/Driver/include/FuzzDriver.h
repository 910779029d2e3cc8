#ifndef FUZZDRIVER_H
#define FUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer on `test_one_input` with the program's arguments and returns its exit status.
///
/// SwiftPM links an executable with `main` defined as the module's own entry point, so libFuzzer's main never runs;
/// each fuzz target's top-level code hands over to libFuzzer here instead. Built without FUZZING (a plain
/// `swift build`), it only says how to build the targets.
int fuzz_main(int argc, char **argv, int (*test_one_input)(const uint8_t *data, size_t size));

#endif
