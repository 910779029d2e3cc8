#include "FuzzDriver.h"
#include <stdio.h>

#ifdef FUZZING
// libFuzzer's entry for programs with their own main; -sanitize=fuzzer links it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test_one_input)(const uint8_t *data, size_t size));
#endif

int fuzz_main(int argc, char **argv, int (*test_one_input)(const uint8_t *data, size_t size)) {
#ifdef FUZZING
    return LLVMFuzzerRunDriver(&argc, &argv, test_one_input);
#else
    (void)argc;
    (void)test_one_input;
    fprintf(stderr, "%s: built without libFuzzer; build and run it with fuzz/run\n", argv[0]);
    return 2;
#endif
}
