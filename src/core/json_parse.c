/* The JSON reader; see json_parse.h. One pass over the buffer by recursive descent: strings
 * without escapes become values straight from the input, the others are decoded into one
 * scratch buffer. Every check jansson's decoder makes is made here, in the same places. */
#include "core/json_parse.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH; every value counts a level */

struct parser {
  const unsigned char *start, *p, *end;
  json_error_t *err;
  int depth;
  char *tmp; /* decoded strings */
  size_t tmp_cap;
};

static void fail(struct parser *ps, enum json_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct parser *ps, enum json_error_code code, const char *fmt, ...) {
  json_error_t *e = ps->err;
  if (!e) return;
  int line = 1;
  const unsigned char *bol = ps->start;
  for (const unsigned char *q = ps->start; q < ps->p; q++)
    if (*q == '\n') line++, bol = q + 1;
  e->line = line;
  e->column = (int)(ps->p - bol) + 1;
  e->position = (int)(ps->p - ps->start);
  snprintf(e->source, sizeof e->source, "<buffer>");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->text, sizeof e->text, fmt, ap);
  va_end(ap);
  e->text[sizeof e->text - 1] = (char)code; /* where json_error_code() looks */
}

static inline void skip_ws(struct parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

static const char *describe(struct parser *ps, char *buf, size_t len) {
  if (ps->p >= ps->end) return "end of input";
  unsigned c = *ps->p;
  if (c >= 0x20 && c < 0x7f)
    snprintf(buf, len, "`%c`", c);
  else
    snprintf(buf, len, "byte 0x%02x", c);
  return buf;
}

/* Length of the valid UTF-8 sequence at p (its first byte >= 0x80), or 0: no overlong forms,
 * no surrogates, nothing above U+10FFFF (RFC 3629). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  size_t n;
  uint32_t v;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, v = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, v = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, v = c & 0x07;
  else
    return 0;
  if ((size_t)(end - p) < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    v = (v << 6) | (p[i] & 0x3f);
  }
  if (n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) return 0;
  if (n == 4 && (v < 0x10000 || v > 0x10ffff)) return 0;
  return n;
}

static bool tmp_reserve(struct parser *ps, size_t need) {
  if (need <= ps->tmp_cap) return true;
  size_t cap = ps->tmp_cap ? ps->tmp_cap : 256;
  while (cap < need)
    cap *= 2;
  char *t = realloc(ps->tmp, cap);
  if (!t) return false;
  ps->tmp = t;
  ps->tmp_cap = cap;
  return true;
}

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *out) {
  if (end - p < 4) return -1;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = p[i], d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return -1;
    v = (v << 4) | d;
  }
  *out = v;
  return 0;
}

static size_t utf8_put(char *o, uint32_t v) {
  if (v < 0x80) return o[0] = (char)v, 1;
  if (v < 0x800) return o[0] = (char)(0xc0 | v >> 6), o[1] = (char)(0x80 | (v & 0x3f)), 2;
  if (v < 0x10000) {
    o[0] = (char)(0xe0 | v >> 12), o[1] = (char)(0x80 | ((v >> 6) & 0x3f));
    o[2] = (char)(0x80 | (v & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | v >> 18), o[1] = (char)(0x80 | ((v >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((v >> 6) & 0x3f)), o[3] = (char)(0x80 | (v & 0x3f));
  return 4;
}

/* The string at ps->p (its opening quote): *s and *len are its text, in the input when it has
 * no escapes, else in ps->tmp (valid until the next string). -1 on error. */
static int scan_string(struct parser *ps, const char **s, size_t *len) {
  const unsigned char *p = ++ps->p, *end = ps->end, *seg = p;
  size_t out = 0;
  bool copied = false;
  for (;;) {
    if (p >= end) {
      ps->p = p;
      fail(ps, json_error_premature_end_of_input, "unterminated string");
      return -1;
    }
    unsigned c = *p;
    if (c == '"') break;
    if (c < 0x20) {
      ps->p = p;
      fail(ps, json_error_invalid_syntax, "control character 0x%02x in a string", c);
      return -1;
    }
    if (c >= 0x80) {
      size_t n = utf8_len(p, end);
      if (!n) {
        ps->p = p;
        fail(ps, json_error_invalid_utf8, "invalid UTF-8 byte 0x%02x", c);
        return -1;
      }
      p += n;
      continue;
    }
    if (c != '\\') {
      p++;
      continue;
    }
    /* An escape: from here on the text is built in ps->tmp. Every escape decodes to at most
     * as many bytes as it takes in the input (\uXXXX: 6 -> 3, a pair: 12 -> 4). */
    size_t run = (size_t)(p - seg);
    if (!tmp_reserve(ps, out + run + (size_t)(end - p))) {
      fail(ps, json_error_out_of_memory, "out of memory");
      return -1;
    }
    memcpy(ps->tmp + out, seg, run);
    out += run;
    copied = true;
    const unsigned char *esc = p;
    if (end - p < 2) {
      ps->p = p;
      fail(ps, json_error_premature_end_of_input, "unterminated string");
      return -1;
    }
    switch (p[1]) {
    case '"':
      ps->tmp[out++] = '"';
      p += 2;
      break;
    case '\\':
      ps->tmp[out++] = '\\';
      p += 2;
      break;
    case '/':
      ps->tmp[out++] = '/';
      p += 2;
      break;
    case 'b':
      ps->tmp[out++] = '\b';
      p += 2;
      break;
    case 'f':
      ps->tmp[out++] = '\f';
      p += 2;
      break;
    case 'n':
      ps->tmp[out++] = '\n';
      p += 2;
      break;
    case 'r':
      ps->tmp[out++] = '\r';
      p += 2;
      break;
    case 't':
      ps->tmp[out++] = '\t';
      p += 2;
      break;
    case 'u': {
      uint32_t v, lo;
      if (hex4(p + 2, end, &v) < 0) goto bad_escape;
      p += 6;
      if (v >= 0xd800 && v <= 0xdbff) {
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) < 0 ||
            lo < 0xdc00 || lo > 0xdfff) {
          ps->p = esc;
          fail(ps, json_error_invalid_syntax, "unpaired high surrogate \\u%04X", v);
          return -1;
        }
        p += 6;
        v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
      } else if (v >= 0xdc00 && v <= 0xdfff) {
        ps->p = esc;
        fail(ps, json_error_invalid_syntax, "unpaired low surrogate \\u%04X", v);
        return -1;
      } else if (v == 0) {
        ps->p = esc;
        fail(ps, json_error_null_character, "\\u0000 is not allowed");
        return -1;
      }
      out += utf8_put(ps->tmp + out, v);
      break;
    }
    default:
    bad_escape:
      ps->p = esc;
      fail(ps, json_error_invalid_syntax, "invalid escape in a string");
      return -1;
    }
    seg = p;
  }
  if (copied) {
    size_t run = (size_t)(p - seg);
    memcpy(ps->tmp + out, seg, run); /* room was reserved up to the end of the input */
    *s = ps->tmp;
    *len = out + run;
  } else {
    *s = (const char *)seg;
    *len = (size_t)(p - seg);
  }
  ps->p = p + 1;
  return 0;
}

static inline bool is_digit(unsigned c) {
  return c >= '0' && c <= '9';
}

static json_t *parse_number(struct parser *ps) {
  const unsigned char *p = ps->p, *end = ps->end, *start = p;
  bool real = false;
  if (p < end && *p == '-') p++;
  if (p < end && *p == '0') {
    p++;
    if (p < end && is_digit(*p)) goto bad; /* no leading zeros */
  } else if (p < end && is_digit(*p)) {
    while (p < end && is_digit(*p))
      p++;
  } else {
    goto bad;
  }
  if (p < end && *p == '.') {
    real = true;
    p++;
    if (p >= end || !is_digit(*p)) goto bad;
    while (p < end && is_digit(*p))
      p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    real = true;
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || !is_digit(*p)) goto bad;
    while (p < end && is_digit(*p))
      p++;
  }
  /* strtoll and strtod want a terminated string. */
  size_t n = (size_t)(p - start);
  char small[64], *text = n < sizeof small ? small : malloc(n + 1);
  if (!text) {
    fail(ps, json_error_out_of_memory, "out of memory");
    return NULL;
  }
  memcpy(text, start, n);
  text[n] = 0;
  json_t *v = NULL;
  bool range = false;
  errno = 0;
  if (!real) {
    long long i = strtoll(text, NULL, 10);
    if (!(range = errno == ERANGE)) v = json_integer((json_int_t)i);
  } else {
    /* As jansson: overflow is an error, underflow reads as the nearest double. */
    double d = strtod(text, NULL);
    if (!(range = errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))) v = json_real(d);
  }
  ps->p = start;
  if (range)
    fail(ps, json_error_numeric_overflow, "number out of range: %.40s%s", text,
         n > 40 ? "..." : "");
  else if (!v)
    fail(ps, json_error_out_of_memory, "out of memory");
  if (text != small) free(text);
  ps->p = p;
  return v;
bad:
  ps->p = start;
  fail(ps, json_error_invalid_syntax, "invalid number");
  return NULL;
}

static json_t *parse_value(struct parser *ps);

static json_t *parse_array(struct parser *ps) {
  json_t *a = json_array();
  if (!a) return fail(ps, json_error_out_of_memory, "out of memory"), NULL;
  ps->p++;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == ']') {
    ps->p++;
    return a;
  }
  for (;;) {
    json_t *v = parse_value(ps);
    if (!v) goto fail;
    if (json_array_append_new(a, v) < 0) {
      fail(ps, json_error_out_of_memory, "out of memory");
      goto fail;
    }
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      skip_ws(ps);
      continue;
    }
    if (ps->p < ps->end && *ps->p == ']') {
      ps->p++;
      return a;
    }
    char what[16];
    fail(ps, json_error_invalid_syntax, "`]` or `,` expected, got %s", describe(ps, what, 16));
    goto fail;
  }
fail:
  json_decref(a);
  return NULL;
}

static json_t *parse_object(struct parser *ps) {
  json_t *o = json_object();
  char *key_copy = NULL;
  if (!o) return fail(ps, json_error_out_of_memory, "out of memory"), NULL;
  ps->p++;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == '}') {
    ps->p++;
    return o;
  }
  for (;;) {
    char what[16];
    if (ps->p >= ps->end || *ps->p != '"') {
      fail(ps, json_error_invalid_syntax, "a string key expected, got %s", describe(ps, what, 16));
      goto fail;
    }
    const unsigned char *at = ps->p;
    const char *key;
    size_t klen;
    if (scan_string(ps, &key, &klen) < 0) goto fail;
    if (key == ps->tmp) { /* decoded: the value's strings reuse ps->tmp */
      if (!(key_copy = malloc(klen ? klen : 1))) {
        fail(ps, json_error_out_of_memory, "out of memory");
        goto fail;
      }
      memcpy(key_copy, key, klen);
      key = key_copy;
    }
    if (json_object_getn(o, key, klen)) {
      ps->p = at;
      fail(ps, json_error_duplicate_key, "duplicate object key");
      goto fail;
    }
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':') {
      fail(ps, json_error_invalid_syntax, "`:` expected, got %s", describe(ps, what, 16));
      goto fail;
    }
    ps->p++;
    skip_ws(ps);
    json_t *v = parse_value(ps);
    if (!v) goto fail;
    if (json_object_setn_new_nocheck(o, key, klen, v) < 0) {
      fail(ps, json_error_out_of_memory, "out of memory");
      goto fail;
    }
    free(key_copy);
    key_copy = NULL;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      skip_ws(ps);
      continue;
    }
    if (ps->p < ps->end && *ps->p == '}') {
      ps->p++;
      return o;
    }
    fail(ps, json_error_invalid_syntax, "`}` or `,` expected, got %s", describe(ps, what, 16));
    goto fail;
  }
fail:
  free(key_copy);
  json_decref(o);
  return NULL;
}

static json_t *literal(struct parser *ps, const char *word, json_t *v) {
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n)) {
    fail(ps, json_error_invalid_syntax, "invalid token");
    return NULL;
  }
  ps->p += n;
  return v;
}

/* At the first byte of a value (whitespace skipped). */
static json_t *parse_value(struct parser *ps) {
  if (++ps->depth > MAX_DEPTH) {
    fail(ps, json_error_stack_overflow, "nested deeper than %d levels", MAX_DEPTH);
    return NULL;
  }
  json_t *v;
  char what[16];
  unsigned c = ps->p < ps->end ? *ps->p : 0x100;
  switch (c) {
  case '{':
    v = parse_object(ps);
    break;
  case '[':
    v = parse_array(ps);
    break;
  case '"': {
    const char *s;
    size_t len;
    v = scan_string(ps, &s, &len) < 0 ? NULL : json_stringn_nocheck(s, len);
    if (!v && !ps->err->text[0]) fail(ps, json_error_out_of_memory, "out of memory");
    break;
  }
  case 't':
    v = literal(ps, "true", json_true());
    break;
  case 'f':
    v = literal(ps, "false", json_false());
    break;
  case 'n':
    v = literal(ps, "null", json_null());
    break;
  default:
    if (c == '-' || is_digit(c)) {
      v = parse_number(ps);
    } else {
      fail(ps, c == 0x100 ? json_error_premature_end_of_input : json_error_invalid_syntax,
           "a value expected, got %s", describe(ps, what, 16));
      v = NULL;
    }
  }
  ps->depth--;
  return v;
}

json_t *json_parse(const char *buf, size_t len, json_error_t *err) {
  json_error_t local;
  struct parser ps = {.start = (const unsigned char *)buf,
                      .p = (const unsigned char *)buf,
                      .end = (const unsigned char *)buf + len,
                      .err = err ? err : &local};
  ps.err->text[0] = 0;
  skip_ws(&ps);
  json_t *v = NULL;
  char what[16];
  if (ps.p >= ps.end || (*ps.p != '{' && *ps.p != '[')) {
    fail(&ps, json_error_invalid_syntax, "`{` or `[` expected, got %s", describe(&ps, what, 16));
  } else if ((v = parse_value(&ps))) {
    skip_ws(&ps);
    if (ps.p != ps.end) {
      fail(&ps, json_error_end_of_input_expected, "end of input expected, got %s",
           describe(&ps, what, 16));
      json_decref(v);
      v = NULL;
    }
  }
  free(ps.tmp);
  return v;
}
