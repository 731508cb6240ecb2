/* What every harness needs: the input as a file (the readers under test take paths) and the
 * check that a rejected input came with a message. */
#ifndef MLTC_FUZZ_UTIL_H
#define MLTC_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "model/labels.h"

/* Writes data to the process's scratch file (in /dev/shm when it exists, else /tmp; removed at
 * exit) and returns its path; NULL when it cannot be written. */
const char *fuzz_file(const uint8_t *data, size_t size);

/* A copy of data with a NUL after it (free() it); NULL when out of memory. */
char *fuzz_string(const uint8_t *data, size_t size);

/* Bad input must get an error that says what is wrong: a failing status with an empty message
 * stops the fuzzer (reported as a crash, with `what`). */
void fuzz_expect_message(mltc_status st, const mltc_error *err, const char *what);

/* An accepted label set finds every name at its own index (no duplicates, the map in step with the
 * list); anything else stops the fuzzer. */
void fuzz_check_labels(const labels *l);

#endif
