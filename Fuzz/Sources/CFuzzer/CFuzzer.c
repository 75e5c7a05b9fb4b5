// Declarations only (CFuzzer.h); libFuzzer provides the definition when linked with
// -sanitize=fuzzer.
#include "CFuzzer.h"
