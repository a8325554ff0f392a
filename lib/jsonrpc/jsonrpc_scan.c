/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Raw scan of a request's text for what json-c hides: duplicate object keys
 * (json-c keeps only the last) and integers it clamps silently. The text has
 * already been accepted by json-c's tokener, so the scanner only needs to be
 * robust, not validating: it never reads past `len` whatever the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/jsonrpc.h"

#define SCAN_MAX_DEPTH 64

struct scan_key {
	const char	*p;
	size_t		len;
	char		*owned;		/* decoded copy when the raw key had escapes */
};

struct scan_frame {
	bool		is_object;
	bool		expect_key;
	struct scan_key	*keys;
	size_t		nkeys;
	size_t		cap;
	struct scan_key	last;		/* last key seen (borrowed from keys[]) */
};

static int
scan_key_cmp(const void *a, const void *b)
{
	const struct scan_key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	if (c != 0) {
		return c;
	}
	return x->len < y->len ? -1 : (x->len > y->len ? 1 : 0);
}

static void
scan_frame_clear(struct scan_frame *f)
{
	size_t i;

	for (i = 0; i < f->nkeys; i++) {
		free(f->keys[i].owned);
	}
	free(f->keys);
	memset(f, 0, sizeof(*f));
}

static size_t
utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int
hex4(const char *p, const char *end, uint32_t *v)
{
	int i;

	*v = 0;
	if (end - p < 4) {
		return -1;
	}
	for (i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9') {
			*v |= (uint32_t)(c - '0');
		} else if (c >= 'a' && c <= 'f') {
			*v |= (uint32_t)(c - 'a' + 10);
		} else if (c >= 'A' && c <= 'F') {
			*v |= (uint32_t)(c - 'A' + 10);
		} else {
			return -1;
		}
	}
	return 0;
}

/* Decode the escapes of a raw string body [p, end) into a new buffer. */
static char *
scan_unescape(const char *p, const char *end, size_t *out_len)
{
	char *out = malloc((size_t)(end - p) + 4);
	size_t n = 0;
	uint32_t cp, lo;

	if (out == NULL) {
		return NULL;
	}
	while (p < end) {
		if (*p != '\\' || p + 1 >= end) {
			out[n++] = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case 'b': out[n++] = '\b'; p++; break;
		case 'f': out[n++] = '\f'; p++; break;
		case 'n': out[n++] = '\n'; p++; break;
		case 'r': out[n++] = '\r'; p++; break;
		case 't': out[n++] = '\t'; p++; break;
		case 'u':
			if (hex4(p + 1, end, &cp) != 0) {
				out[n++] = *p++;
				break;
			}
			p += 5;
			if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' &&
			    p[1] == 'u' && hex4(p + 2, end, &lo) == 0 && lo >= 0xdc00 &&
			    lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			n += utf8_put(out + n, cp);
			break;
		default:
			out[n++] = *p++;
			break;
		}
	}
	*out_len = n;
	return out;
}

static int
scan_frame_add_key(struct scan_frame *f, const char *p, const char *end, bool escaped)
{
	struct scan_key k = { .p = p, .len = (size_t)(end - p) };

	if (escaped) {
		k.owned = scan_unescape(p, end, &k.len);
		if (k.owned == NULL) {
			return -1;
		}
		k.p = k.owned;
	}
	if (f->nkeys == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct scan_key *keys = realloc(f->keys, cap * sizeof(*keys));

		if (keys == NULL) {
			free(k.owned);
			return -1;
		}
		f->keys = keys;
		f->cap = cap;
	}
	f->keys[f->nkeys++] = k;
	f->last = k;
	return 0;
}

static void
scan_copy_key(char *key, size_t key_size, const struct scan_key *k)
{
	size_t n;

	if (key_size == 0) {
		return;
	}
	n = k->len < key_size - 1 ? k->len : key_size - 1;
	if (n > 0) {
		memcpy(key, k->p, n);	/* k->p may be NULL for an empty key */
	}
	key[n] = '\0';
}

/* Find a duplicate among the frame's keys: sort, compare neighbours. */
static const struct scan_key *
scan_frame_find_dup(struct scan_frame *f)
{
	size_t i;

	if (f->nkeys < 2) {
		return NULL;
	}
	qsort(f->keys, f->nkeys, sizeof(*f->keys), scan_key_cmp);
	for (i = 1; i < f->nkeys; i++) {
		if (scan_key_cmp(&f->keys[i - 1], &f->keys[i]) == 0) {
			return &f->keys[i];
		}
	}
	return NULL;
}

/* Decimal digits [p, end) (no sign) larger than `limit` (a decimal string)? */
static bool
digits_exceed(const char *p, const char *end, const char *limit)
{
	size_t n, ln = strlen(limit);

	while (p < end - 1 && *p == '0') {
		p++;
	}
	n = (size_t)(end - p);
	if (n != ln) {
		return n > ln;
	}
	return memcmp(p, limit, n) > 0;
}

int
jsonrpc_scan_raw(const char *text, size_t len, char *key, size_t key_size, int *depth,
		 int *is_range)
{
	struct scan_frame stack[SCAN_MAX_DEPTH];
	const char *p = text, *end = text + len;
	int top = -1, found = 0, i;

	memset(stack, 0, sizeof(stack));
	if (key_size > 0) {
		key[0] = '\0';
	}
	*depth = 0;
	*is_range = 0;

	while (p < end && !found) {
		char c = *p;
		struct scan_frame *f = top >= 0 ? &stack[top] : NULL;

		if (c == '{' || c == '[') {
			if (top + 1 >= SCAN_MAX_DEPTH) {
				break;	/* deeper than json-c allows: nothing to say */
			}
			top++;
			stack[top].is_object = (c == '{');
			stack[top].expect_key = (c == '{');
			p++;
		} else if (c == '}' || c == ']') {
			if (f != NULL) {
				const struct scan_key *dup;

				dup = f->is_object ? scan_frame_find_dup(f) : NULL;

				if (dup != NULL) {
					scan_copy_key(key, key_size, dup);
					*depth = top + 1;
					found = 1;
					break;
				}
				scan_frame_clear(f);
				top--;
			}
			p++;
		} else if (c == ',') {
			if (f != NULL && f->is_object) {
				f->expect_key = true;
			}
			p++;
		} else if (c == ':') {
			if (f != NULL) {
				f->expect_key = false;
			}
			p++;
		} else if (c == '"' || c == '\'') {
			const char *s = ++p;
			bool escaped = false;

			while (p < end && *p != c) {
				if (*p == '\\') {
					escaped = true;
					p++;
				}
				p++;
			}
			if (p >= end) {
				break;	/* unterminated: json-c would not have accepted it */
			}
			if (f != NULL && f->is_object && f->expect_key) {
				if (scan_frame_add_key(f, s, p, escaped) != 0) {
					break;
				}
			}
			p++;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			const char *s = p;
			bool integer = true, neg = (c == '-');

			if (neg) {
				p++;
			}
			while (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' ||
					   *p == 'E' || *p == '+' || *p == '-' ||
					   (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))) {
				if (!(*p >= '0' && *p <= '9')) {
					integer = false;
				}
				p++;
			}
			if (integer && p > s + (neg ? 1 : 0) &&
			    digits_exceed(s + (neg ? 1 : 0), p,
					  neg ? "9223372036854775808" : "18446744073709551615")) {
				for (i = top; i >= 0; i--) {
					if (stack[i].is_object) {
						scan_copy_key(key, key_size, &stack[i].last);
						break;
					}
				}
				*depth = top + 1;
				*is_range = 1;
				found = 1;
			}
		} else {
			p++;
		}
	}
	/* Keys owned by frames still open (early exit) are freed here. */
	for (i = 0; i < SCAN_MAX_DEPTH; i++) {
		scan_frame_clear(&stack[i]);
	}
	return found;
}
