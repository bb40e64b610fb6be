/* A JSON reader that builds jansson values, for the documents read on every start (config.json,
 * state.json). jansson's own decoder takes each byte through a callback and a token buffer
 * (~13 ns a byte: ~110 µs for a 8 KiB config.json with a seccomp profile, most of a wasm
 * bundle's parse-to-exit time); this one scans the buffer in place and hands jansson only
 * finished values.
 *
 * Promise: it accepts exactly what json_loadb(buf, len, JSON_REJECT_DUPLICATES, ...) accepts,
 * and returns an equal value (tests/fuzz/fuzz_json.c checks both against jansson): RFC 8259
 * with an object or array at the top; strings of valid UTF-8 without U+0000; escapes with
 * surrogate pairs; integers that fit a json_int_t, reals that do not overflow a double; no
 * duplicate keys; at most 2048 levels of nesting (where jansson skips a NUL byte after a number
 * or a literal, this refuses it, as any NUL). Errors fill `err` (line, column, position,
 * text) as jansson does; the wording differs. The input is hostile: every read is bounded by
 * `len`, and nesting is bounded.
 */
#ifndef ISOLA_JSON_PARSE_H
#define ISOLA_JSON_PARSE_H

#include <jansson.h>
#include <stddef.h>

json_t *json_parse(const char *buf, size_t len, json_error_t *err);

#endif
