/* SPDX-License-Identifier: MIT */
/*
 * INFO and STATUS attributes. Each attribute is one table of fields in wire
 * order: TLV type, value kind, where the value lives in the struct, and
 * when it is sent. The encoder and the decoder both walk that table, so
 * what the device writes and what the central reads are one definition;
 * adding a field is adding a row.
 */
#include "protocol/info.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "protocol/tlv.h"

enum kind {
	K_U8,
	K_U16,
	K_U32,
	K_STR,    /* char[size], NUL-terminated */
	K_SHA256, /* 32 bytes */
	K_KEYS,   /* n x 32 bytes; n (uint8_t) at cond */
};

enum when {
	ALWAYS,
	IF_FLAG,  /* encoded if the bool at cond is set; decoding sets it */
	IF_EMPTY, /* strings: skipped when empty; keys: when n is 0 */
};

struct field {
	uint8_t type;
	uint8_t kind;
	uint8_t when;
	uint16_t off;  /* of the value in the attribute struct */
	uint16_t size; /* of that member */
	uint16_t cond; /* IF_FLAG: the bool; K_KEYS: the count */
};

#define FIELD(st, t, k, w, m, c)                          \
	{                                                 \
		(t), (k), (w), (uint16_t)offsetof(st, m), \
			(uint16_t)sizeof(((st *)0)->m),   \
			(uint16_t)offsetof(st, c)         \
	}
#define INFO(t, k, w, m) FIELD(struct ota_info_attr, t, k, w, m, dev)
#define STAT(t, k, w, m) FIELD(struct ota_status_attr, t, k, w, m, has_session)

static const struct field info_fields[] = {
	INFO(OTA_INFO_PROTO_VERSION, K_U8, ALWAYS, proto_version),
	INFO(OTA_INFO_CAPS, K_U32, ALWAYS, dev.caps),
	INFO(OTA_INFO_MAX_VALUE, K_U16, ALWAYS, max_value),
	INFO(OTA_INFO_WINDOW, K_U32, ALWAYS, window),
	INFO(OTA_INFO_SLOT_SIZE, K_U32, ALWAYS, dev.slot_size),
	INFO(OTA_INFO_CHIP_ID, K_U16, ALWAYS, dev.chip_id),
	INFO(OTA_INFO_RUN_VERSION, K_STR, ALWAYS, dev.run_version),
	INFO(OTA_INFO_RUN_PROJECT, K_STR, ALWAYS, dev.run_project),
	INFO(OTA_INFO_RUN_SECVER, K_U32, ALWAYS, dev.run_secure_version),
	INFO(OTA_INFO_RUN_SLOT, K_U8, ALWAYS, dev.run_slot),
	FIELD(struct ota_info_attr, OTA_INFO_TRUSTED_KEYS, K_KEYS, IF_EMPTY,
	      dev.trusted_keys, dev.n_trusted_keys),
	INFO(OTA_INFO_RUN_TAG, K_STR, IF_EMPTY, dev.run_tag),
};

static const struct field status_fields[] = {
	STAT(OTA_ST_RX_STATE, K_U8, ALWAYS, rx_state),
	STAT(OTA_ST_LAST_STATUS, K_U8, ALWAYS, last_status),
	STAT(OTA_ST_IMAGE_SIZE, K_U32, IF_FLAG, image_size),
	STAT(OTA_ST_HELD, K_U32, IF_FLAG, held),
	STAT(OTA_ST_SHA256, K_SHA256, IF_FLAG, sha256),
	STAT(OTA_ST_RUN_SLOT, K_U8, ALWAYS, dev.run_slot),
	STAT(OTA_ST_RUN_STATE, K_U32, ALWAYS, dev.run_state),
	STAT(OTA_ST_OTHER_STATE, K_U32, ALWAYS, dev.other_state),
	STAT(OTA_ST_RUN_VERSION, K_STR, ALWAYS, dev.run_version),
	STAT(OTA_ST_LAST_DETAIL, K_STR, IF_EMPTY, dev.last_boot),
	STAT(OTA_ST_RUN_TAG, K_STR, IF_EMPTY, dev.run_tag),
};

#define N_FIELDS(t) (sizeof(t) / sizeof((t)[0]))

_Static_assert(N_FIELDS(info_fields) <= 32 && N_FIELDS(status_fields) <= 32,
	       "one bit per field in decode()'s seen mask");

static size_t str_len(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);

	return nul ? (size_t)(nul - s) : cap;
}

static int encode(uint8_t *buf, size_t cap, const void *attr,
		  const struct field *f, size_t nf)
{
	struct ota_tlv_writer w = { .buf = buf, .cap = cap };
	const uint8_t *base = attr;
	size_t i;

	for (i = 0; i < nf; i++, f++) {
		const uint8_t *v = base + f->off;
		uint32_t x = 0;
		size_t n;

		if (f->when == IF_FLAG && !base[f->cond])
			continue;
		switch (f->kind) {
		case K_U8:
			ota_tlv_put_u8(&w, f->type, *v);
			break;
		case K_U16:
			memcpy(&x, v, 2);
			ota_tlv_put_u16(&w, f->type, (uint16_t)x);
			break;
		case K_U32:
			memcpy(&x, v, 4);
			ota_tlv_put_u32(&w, f->type, x);
			break;
		case K_STR:
			/* the last byte of the field is its terminator */
			n = str_len((const char *)v, f->size - 1u);
			if (n || f->when != IF_EMPTY)
				ota_tlv_put(&w, f->type, v, n);
			break;
		case K_SHA256:
			ota_tlv_put(&w, f->type, v, 32);
			break;
		case K_KEYS:
			n = base[f->cond] < f->size / 32 ? base[f->cond]
							 : f->size / 32;
			if (n)
				ota_tlv_put(&w, f->type, v, 32 * n);
			break;
		}
	}
	return w.overflow ? -EMSGSIZE : (int)w.len;
}

/* One entry into its field; false if its length is wrong for the kind. */
static bool decode_one(uint8_t *base, const struct field *f, const uint8_t *val,
		       uint16_t vlen)
{
	uint8_t *v = base + f->off;
	size_t n;

	switch (f->kind) {
	case K_U8:
		if (vlen != 1)
			return false;
		*v = val[0];
		break;
	case K_U16: {
		uint16_t x;

		if (vlen != 2)
			return false;
		x = ota_get_le16(val);
		memcpy(v, &x, 2);
		break;
	}
	case K_U32: {
		uint32_t x;

		if (vlen != 4)
			return false;
		x = ota_get_le32(val);
		memcpy(v, &x, 4);
		break;
	}
	case K_STR:
		n = str_len((const char *)val, vlen);
		if (n > f->size - 1u)
			n = f->size - 1u;
		memcpy(v, val, n);
		v[n] = '\0';
		break;
	case K_SHA256:
		if (vlen != 32)
			return false;
		memcpy(v, val, 32);
		break;
	case K_KEYS:
		if (vlen % 32)
			return false;
		n = vlen / 32 < f->size / 32 ? vlen / 32 : f->size / 32;
		memcpy(v, val, 32 * n);
		base[f->cond] = (uint8_t)n;
		break;
	}
	if (f->when == IF_FLAG)
		base[f->cond] = 1;
	return true;
}

static int decode(const uint8_t *buf, size_t len, void *attr,
		  const struct field *f, size_t nf)
{
	uint8_t *base = attr;
	uint32_t seen = 0;
	size_t off = 0, i;
	const uint8_t *val;
	uint16_t vlen;
	uint8_t type;
	int r;

	while ((r = ota_tlv_next(buf, len, &off, &type, &val, &vlen)) > 0) {
		for (i = 0; i < nf && f[i].type != type; i++)
			;
		if (i == nf)
			continue; /* a newer device may say more */
		if (seen & (1u << i) || !decode_one(base, &f[i], val, vlen))
			return -EBADMSG;
		seen |= 1u << i;
	}
	return r;
}

int ota_info_encode(uint8_t *buf, size_t cap, const struct ota_info_attr *a)
{
	return encode(buf, cap, a, info_fields, N_FIELDS(info_fields));
}

int ota_info_decode(const uint8_t *buf, size_t len, struct ota_info_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->dev.run_slot = 0xff;
	return decode(buf, len, a, info_fields, N_FIELDS(info_fields));
}

int ota_status_attr_encode(uint8_t *buf, size_t cap,
			   const struct ota_status_attr *a)
{
	return encode(buf, cap, a, status_fields, N_FIELDS(status_fields));
}

int ota_status_attr_decode(const uint8_t *buf, size_t len,
			   struct ota_status_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->dev.run_slot = 0xff;
	return decode(buf, len, a, status_fields, N_FIELDS(status_fields));
}
