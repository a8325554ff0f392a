/* SPDX-License-Identifier: BSD-3-Clause */
/* Typed decoding of RPC params (strict and relaxed), as SPDK's spdk_json_decode_object. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhostd/rpc.h"

int
rpc_decode_string(struct json_object *val, void *out)
{
	char **s = out;
	const char *v;

	if (!json_object_is_type(val, json_type_string)) {
		return -EINVAL;
	}
	v = json_object_get_string(val);
	/* An embedded NUL would make C see another string than the client sent. */
	if ((size_t)json_object_get_string_len(val) != strlen(v)) {
		return -EINVAL;
	}
	*s = strdup(v);
	return *s != NULL ? 0 : -ENOMEM;
}

int
rpc_decode_bool(struct json_object *val, void *out)
{
	if (!json_object_is_type(val, json_type_boolean)) {
		return -EINVAL;
	}
	*(bool *)out = json_object_get_boolean(val);
	return 0;
}

static int
rpc_decode_i64(struct json_object *val, int64_t min, int64_t max, int64_t *v)
{
	if (!json_object_is_type(val, json_type_int)) {
		return -EINVAL;
	}
	*v = json_object_get_int64(val);
	return (*v < min || *v > max) ? -ERANGE : 0;
}

int
rpc_decode_int32(struct json_object *val, void *out)
{
	int64_t v;
	int rc = rpc_decode_i64(val, INT32_MIN, INT32_MAX, &v);

	if (rc == 0) {
		*(int32_t *)out = (int32_t)v;
	}
	return rc;
}

int
rpc_decode_uint32(struct json_object *val, void *out)
{
	int64_t v;
	int rc = rpc_decode_i64(val, 0, UINT32_MAX, &v);

	if (rc == 0) {
		*(uint32_t *)out = (uint32_t)v;
	}
	return rc;
}

int
rpc_decode_uint64(struct json_object *val, void *out)
{
	if (!json_object_is_type(val, json_type_int)) {
		return -EINVAL;
	}
	/* json-c keeps values above INT64_MAX as unsigned: get_int64 clamps those to INT64_MAX. */
	if (json_object_get_int64(val) < 0) {
		return -ERANGE;
	}
	*(uint64_t *)out = json_object_get_uint64(val);
	return 0;
}

int
rpc_decode_object_ref(struct json_object *val, void *out)
{
	if (!json_object_is_type(val, json_type_object) &&
	    !json_object_is_type(val, json_type_array)) {
		return -EINVAL;
	}
	*(struct json_object **)out = json_object_get(val);
	return 0;
}

static const char *
rpc_decode_reason(rpc_decode_fn fn, int rc)
{
	bool range = (rc == -ERANGE);

	if (fn == rpc_decode_string) {
		return "expected string";
	} else if (fn == rpc_decode_bool) {
		return "expected bool";
	} else if (fn == rpc_decode_int32) {
		return range ? "out of range for int32" : "expected int32";
	} else if (fn == rpc_decode_uint32) {
		return range ? "out of range for uint32" : "expected uint32";
	} else if (fn == rpc_decode_uint64) {
		return range ? "out of range for uint64" : "expected uint64";
	} else if (fn == rpc_decode_object_ref) {
		return "expected object or array";
	}
	return range ? "out of range" : "invalid value";
}

static int
rpc_decode_fail(struct rpc_decode_error *err, const char *field, const char *reason)
{
	if (err != NULL) {
		snprintf(err->field, sizeof(err->field), "%s", field);
		snprintf(err->reason, sizeof(err->reason), "%s", reason);
	}
	return -EINVAL;
}

static int
rpc_decode_common(struct json_object *params, const struct rpc_decoder *decoders, size_t num,
		  void *out, struct rpc_decode_error *err, bool relaxed)
{
	struct json_object_iterator it, it_end;
	bool *seen = NULL;
	size_t i;
	int rc = 0;

	if (params != NULL && !json_object_is_type(params, json_type_object)) {
		return rpc_decode_fail(err, "params", "expected object");
	}
	if (num > 0) {
		seen = calloc(num, sizeof(*seen));
		if (seen == NULL) {
			return rpc_decode_fail(err, "params", "out of memory");
		}
	}
	if (params != NULL) {
		it = json_object_iter_begin(params);
		it_end = json_object_iter_end(params);
		for (; !json_object_iter_equal(&it, &it_end); json_object_iter_next(&it)) {
			const char *key = json_object_iter_peek_name(&it);
			struct json_object *val = json_object_iter_peek_value(&it);

			for (i = 0; i < num; i++) {
				if (strcmp(decoders[i].name, key) == 0) {
					break;
				}
			}
			if (i == num) {
				if (relaxed) {
					continue;
				}
				rc = rpc_decode_fail(err, key, "unknown key");
				goto out;
			}
			if (seen[i]) {
				rc = rpc_decode_fail(err, key, "duplicate key");
				goto out;
			}
			seen[i] = true;
			rc = decoders[i].decode(val, (char *)out + decoders[i].offset);
			if (rc != 0) {
				rc = rpc_decode_fail(err, key,
						     rpc_decode_reason(decoders[i].decode, rc));
				goto out;
			}
		}
	}
	for (i = 0; i < num; i++) {
		if (!decoders[i].optional && !seen[i]) {
			rc = rpc_decode_fail(err, decoders[i].name, "missing");
			goto out;
		}
	}
out:
	free(seen);
	return rc;
}

int
rpc_decode_object(struct json_object *params, const struct rpc_decoder *decoders, size_t num,
		  void *out, struct rpc_decode_error *err)
{
	return rpc_decode_common(params, decoders, num, out, err, false);
}

int
rpc_decode_object_relaxed(struct json_object *params, const struct rpc_decoder *decoders,
			  size_t num, void *out, struct rpc_decode_error *err)
{
	return rpc_decode_common(params, decoders, num, out, err, true);
}

void
rpc_send_decode_error(struct rpc_request *req, int code, const struct rpc_decode_error *err)
{
	if (code == 0) {
		code = RPC_ERROR_INVALID_PARAMS;
	}
	if (err == NULL || err->field[0] == '\0') {
		rpc_send_error(req, code, "Invalid parameters");
		return;
	}
	rpc_send_error(req, code, "Invalid parameters: %s: %s", err->field, err->reason);
}

bool
rpc_reject_params(struct rpc_request *req, struct json_object *params)
{
	if (params == NULL) {
		return false;
	}
	rpc_send_error(req, RPC_ERROR_INVALID_PARAMS, "'%s' requires no arguments",
		       rpc_request_method(req));
	return true;
}
