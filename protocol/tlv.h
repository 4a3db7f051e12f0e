/* SPDX-License-Identifier: MIT */
/*
 * The TLV encoding of the manifest (docs/protocol.md §5) and of the INFO and
 * STATUS attributes (§6): | type (1) | len (1) | value |, or for values of
 * 255 bytes and more | type (1) | 0xff | len (2, LE) | value |. One encoding
 * per length: the long form is refused for short values.
 *
 * The writer appends to a caller buffer and remembers overflow, so a run of
 * puts needs one check at the end; the reader walks entries and never reads
 * past the buffer. What the types mean is manifest.h's and info.h's.
 */
#ifndef BLEOTA_PROTOCOL_TLV_H
#define BLEOTA_PROTOCOL_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTA_TLV_EXT_LEN 0xff /* length byte: a u16 length follows */

struct ota_tlv_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

/* ota_tlv_put() - values up to 65535 bytes; 255 and more take the long form */
void ota_tlv_put(struct ota_tlv_writer *w, uint8_t type, const void *val,
		 size_t len);
void ota_tlv_put_u8(struct ota_tlv_writer *w, uint8_t type, uint8_t v);
void ota_tlv_put_u16(struct ota_tlv_writer *w, uint8_t type, uint16_t v);
void ota_tlv_put_u32(struct ota_tlv_writer *w, uint8_t type, uint32_t v);
void ota_tlv_put_str(struct ota_tlv_writer *w, uint8_t type, const char *s);

/**
 * ota_tlv_next() - step through TLVs in @buf. An entry is
 * | type (1) | len (1) | value |, or, for values of 255 bytes and more,
 * | type (1) | 0xff | len (2) | value |.
 * @off: in/out cursor, start at 0.
 *
 * Return: 1 with @type/@val/@vlen filled, 0 at the end, -EBADMSG if an entry
 * overruns the buffer.
 */
int ota_tlv_next(const uint8_t *buf, size_t len, size_t *off, uint8_t *type,
		 const uint8_t **val, uint16_t *vlen);

#endif /* BLEOTA_PROTOCOL_TLV_H */
