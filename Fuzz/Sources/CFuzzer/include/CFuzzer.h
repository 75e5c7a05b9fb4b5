// libFuzzer's driver entry point (compiler-rt, LLVM 11 and later): runs the fuzzing loop with
// `callback` as the target, so the fuzz executables keep their own `main` (SwiftPM links
// executables through their module's main symbol, which libFuzzer's `main` would clash with).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
