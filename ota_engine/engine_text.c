/* SPDX-License-Identifier: MIT */
/*
 * The engine's words, for host builds only: reason names and advice, and
 * the sentence for each note (message code + numbers). Device firmware
 * keeps none of this text (make size leaves this file out, as it does
 * flash_file.c); it reports codes, a host formats them.
 *
 * Templates: %N is n[N] in decimal, %dN signed, %xN hex, %XN hex with 8
 * digits, %sN the NUL-padded string s[N] (at most 32 chars), %cN the chip
 * name of n[N], %tN the otadata state n[N], %gN the signature block error
 * n[N], %i the image verifier's verdict (ref), %% a percent sign.
 */
#include "ota_engine/engine.h"

#include <stdio.h>
#include <string.h>

#include "ota_engine/otadata.h"
#include "ota_engine/sigblock.h"
#include "ota_engine/util.h"

static const struct {
	const char *name;
	const char *text;
} reasons[] = {
	[OTA_ENGINE_REASON_NONE] = { "NONE", "no error" },
	[OTA_ENGINE_REASON_BUSY] = { "BUSY", "another update is in progress: "
					     "finish or abort it first" },
	[OTA_ENGINE_REASON_UNCONFIRMED] = { "UNCONFIRMED",
					    "the running image is still "
					    "pending verification: confirm it "
					    "or roll back before updating" },
	[OTA_ENGINE_REASON_BAD_MANIFEST] = { "BAD_MANIFEST",
					     "the manifest is malformed (size "
					     "0?): rebuild the request" },
	[OTA_ENGINE_REASON_NO_SLOT] = { "NO_SLOT",
					"the device has no usable OTA slot: "
					"check its partition table" },
	[OTA_ENGINE_REASON_TOO_LARGE] = { "TOO_LARGE",
					  "the image does not fit the OTA "
					  "slot: build a smaller image or "
					  "repartition" },
	[OTA_ENGINE_REASON_WRONG_CHIP] = { "WRONG_CHIP",
					   "the image is built for another "
					   "chip: build it for this device's "
					   "target" },
	[OTA_ENGINE_REASON_DOWNGRADE] = { "DOWNGRADE",
					  "secure_version is lower than the "
					  "device allows: raise it in the "
					  "image" },
	[OTA_ENGINE_REASON_SAME_AS_FAILED] = { "SAME_AS_FAILED",
					       "this exact image already "
					       "failed on the device: send a "
					       "fixed build (or force)" },
	[OTA_ENGINE_REASON_SAME_AS_RUNNING] = { "SAME_AS_RUNNING",
						"the device already runs this "
						"exact image: nothing to do "
						"(force to reinstall)" },
	[OTA_ENGINE_REASON_NO_SESSION] = { "NO_SESSION", "no update session: "
							 "send BEGIN first" },
	[OTA_ENGINE_REASON_OUT_OF_RANGE] = { "OUT_OF_RANGE",
					     "data beyond the announced image "
					     "size: check the offsets" },
	[OTA_ENGINE_REASON_BLOCK_CRC] = { "BLOCK_CRC",
					  "a block arrived corrupted: resend "
					  "the whole block" },
	[OTA_ENGINE_REASON_BAD_IMAGE] = { "BAD_IMAGE",
					  "the image is not a valid ESP-IDF "
					  "app image: rebuild it" },
	[OTA_ENGINE_REASON_HASH_MISMATCH] = { "HASH_MISMATCH",
					      "the image in flash does not "
					      "match the announced SHA-256: "
					      "start the transfer again" },
	[OTA_ENGINE_REASON_MANIFEST_MISMATCH] = { "MANIFEST_MISMATCH",
						  "the image's app description "
						  "or chip differs from the "
						  "manifest: fix the sender" },
	[OTA_ENGINE_REASON_INCOMPLETE] = { "INCOMPLETE",
					   "blocks are missing: send them, "
					   "then finish again" },
	[OTA_ENGINE_REASON_NOT_VERIFIED] = { "NOT_VERIFIED",
					     "the image was not verified: "
					     "finish before commit" },
	[OTA_ENGINE_REASON_NOTHING_PENDING] = { "NOTHING_PENDING",
						"the running image is not "
						"pending verification: nothing "
						"to confirm" },
	[OTA_ENGINE_REASON_NO_ROLLBACK_TARGET] = { "NO_ROLLBACK_TARGET",
						   "there is no valid previous "
						   "image to roll back to" },
	[OTA_ENGINE_REASON_NO_BOOTABLE] = { "NO_BOOTABLE",
					    "no slot holds a bootable image: "
					    "flash one over the wire or "
					    "serial" },
	[OTA_ENGINE_REASON_FLASH_ERROR] = { "FLASH_ERROR",
					    "flash read/write/erase failed: "
					    "retry; if it persists the flash "
					    "is failing" },
	[OTA_ENGINE_REASON_SIGNATURE_REQUIRED] = { "SIGNATURE_REQUIRED",
						   "the device only accepts "
						   "signed images: sign it "
						   "(bleota image sign)" },
	[OTA_ENGINE_REASON_BAD_SIGNATURE] = { "BAD_SIGNATURE",
					      "the image's signature does not "
					      "verify: sign it again" },
	[OTA_ENGINE_REASON_UNTRUSTED_KEY] = { "UNTRUSTED_KEY",
					      "the image is signed with a key "
					      "the device does not trust: sign "
					      "it with a trusted key" },
	[OTA_ENGINE_REASON_REBOOT_REQUIRED] = { "REBOOT_REQUIRED",
						"an update is committed: "
						"reboot the device to run it, "
						"then update again" },
};

const char *ota_engine_reason_name(enum ota_engine_reason r)
{
	if ((size_t)r < sizeof(reasons) / sizeof(reasons[0]) && reasons[r].name)
		return reasons[r].name;
	return "UNKNOWN";
}

const char *ota_engine_reason_str(enum ota_engine_reason r)
{
	if ((size_t)r < sizeof(reasons) / sizeof(reasons[0]) && reasons[r].text)
		return reasons[r].text;
	return "unknown error";
}

static const char *const templates[OTA_ENGINE_MSG_COUNT] = {
	[OTA_ENGINE_MSG_NONE] = "",
	[OTA_ENGINE_MSG_TABLE_READ] = "cannot read the partition table",
	[OTA_ENGINE_MSG_NO_TABLE] = "no valid partition table at 0x8000",
	[OTA_ENGINE_MSG_JOURNAL_READ] = "cannot read the journal partition",
	[OTA_ENGINE_MSG_EFUSE_READ] = "cannot read the anti-rollback counter",
	[OTA_ENGINE_MSG_RECOVER_IO] = "flash error while recovering otadata",
	[OTA_ENGINE_MSG_BOOT_READ] = "flash error reading the boot slot",
	[OTA_ENGINE_MSG_UNSIGNED] = "the image is unsigned and the device "
				    "requires a signature",
	[OTA_ENGINE_MSG_SIG_LEN] = "signature sector of %0 bytes",
	[OTA_ENGINE_MSG_SIG_PAD] = "a signed image of %0 bytes is not padded "
				   "to 4 KiB",
	[OTA_ENGINE_MSG_SIG_NO_BLOCK] = "no valid signature block (block 0: "
					"%g0)",
	[OTA_ENGINE_MSG_RUNNING_READ] = "cannot read the running app",
	[OTA_ENGINE_MSG_UNTRUSTED] = "no block is signed with a trusted key",
	[OTA_ENGINE_MSG_RUNNING_UNSIGNED] = "the running app is unsigned: it "
					    "trusts no key",
	[OTA_ENGINE_MSG_SIG_OTHER_DIGEST] = "the signature covers another "
					    "image than the manifest's "
					    "SHA-256",
	[OTA_ENGINE_MSG_SIG_NONE_VERIFIES] = "no signature block verifies",
	[OTA_ENGINE_MSG_SIZE_ZERO] = "image size is 0",
	[OTA_ENGINE_MSG_NO_OTA_SLOT] = "the partition table has no OTA app "
				       "slot",
	[OTA_ENGINE_MSG_OTADATA_READ] = "cannot read otadata",
	[OTA_ENGINE_MSG_PENDING] = "slot %d0 is PENDING_VERIFY",
	[OTA_ENGINE_MSG_TOO_LARGE] = NULL, /* special */
	[OTA_ENGINE_MSG_WRONG_CHIP] = "image is for %c0 (chip id %0), device "
				      "is %c1 (chip id %1)",
	[OTA_ENGINE_MSG_DOWNGRADE] = "image secure_version %0 < %1",
	[OTA_ENGINE_MSG_JOURNAL_IO] = "flash error in the journal",
	[OTA_ENGINE_MSG_REJECTED] = "this image was rejected before",
	[OTA_ENGINE_MSG_SLOT_READ] = "cannot read slot %d0",
	[OTA_ENGINE_MSG_RUNS_ALREADY] = "slot %d0 runs %s0 already",
	[OTA_ENGINE_MSG_OTHER_SESSION] = "a session for another image is "
					 "active",
	[OTA_ENGINE_MSG_COMMITTED] = "an update is committed: reboot to run "
				     "it",
	[OTA_ENGINE_MSG_START_IO] = "flash error starting the session",
	[OTA_ENGINE_MSG_NO_SESSION] = NULL, /* special */
	[OTA_ENGINE_MSG_WRITE_RANGE] = "write [%0, +%1) beyond the %2-byte "
				       "image",
	[OTA_ENGINE_MSG_WRITE_IO] = "flash error writing at image offset "
				    "0x%x0",
	[OTA_ENGINE_MSG_BLOCK_RANGE] = "block %0 beyond the %1-block image",
	[OTA_ENGINE_MSG_BLOCK_READ] = "flash error reading block %0",
	[OTA_ENGINE_MSG_BLOCK_CRC] = "block %0: CRC 0x%X1, expected 0x%X2",
	[OTA_ENGINE_MSG_IMAGE_READ] = "flash error reading the image",
	[OTA_ENGINE_MSG_IMAGE] = "%i",
	[OTA_ENGINE_MSG_HDR_CHIP] = "image header says chip %0, manifest %1",
	[OTA_ENGINE_MSG_APP_VERSION] = "app version '%s0', manifest '%s1'",
	[OTA_ENGINE_MSG_APP_PROJECT] = "app project '%s0', manifest '%s1'",
	[OTA_ENGINE_MSG_APP_SECVER] = "app secure_version %0, manifest %1",
	[OTA_ENGINE_MSG_SIG_DIGEST] = "the %0 signed bytes do not hash to the "
				      "digest signature block %1 signs",
	[OTA_ENGINE_MSG_SIG_PLACE] = "the app image ends at %0, so its "
				     "signature sector belongs at 0x%x1, not "
				     "0x%x2",
	[OTA_ENGINE_MSG_SIG_WRITE] = "flash error writing the signature "
				     "sector",
	[OTA_ENGINE_MSG_SIG_READ] = "flash error reading the signature sector",
	[OTA_ENGINE_MSG_SIG_DIFFERS] = "the signature sector in flash differs "
				       "from the one BEGIN carried",
	[OTA_ENGINE_MSG_MISSING] = "%0 of %1 blocks never written",
	[OTA_ENGINE_MSG_RESEND] = "SHA-256 differs; %0 of %1 blocks were "
				  "never verified: resend them",
	[OTA_ENGINE_MSG_HASH] = "SHA-256 of the %0 bytes in ota_%1 differs "
				"from the manifest",
	[OTA_ENGINE_MSG_COMMIT_EARLY] = "commit before a successful finish",
	[OTA_ENGINE_MSG_NO_OTADATA] = "no otadata partition to select the "
				      "slot with",
	[OTA_ENGINE_MSG_SELECT] = "cannot select ota_%0",
	[OTA_ENGINE_MSG_OTADATA_IO] = "flash error writing otadata",
	[OTA_ENGINE_MSG_NOT_OTA] = "not running from an OTA slot",
	[OTA_ENGINE_MSG_STATE] = "ota_%d0 is %t1",
	[OTA_ENGINE_MSG_NO_ENTRY] = "ota_%d0 has no otadata entry",
	[OTA_ENGINE_MSG_EFUSE_IO] = "flash error raising the anti-rollback "
				    "counter",
	[OTA_ENGINE_MSG_NO_PREVIOUS] = "no valid previous image besides "
				       "ota_%d0",
	[OTA_ENGINE_MSG_CLOSE_IO] = "flash error closing the journal",
	[OTA_ENGINE_MSG_BOOT_IO] = "flash error in the bootloader",
	[OTA_ENGINE_MSG_NO_BOOTABLE] = "no bootable app partition",
	[OTA_ENGINE_MSG_WAIT_REBOOT] = "%s0 is committed and waits for a "
				       "reboot",
	[OTA_ENGINE_MSG_BEGIN] = NULL, /* special */
	[OTA_ENGINE_MSG_RESUME_CHANGED] = "resume: block %0 changed since it "
					  "was verified",
	[OTA_ENGINE_MSG_REWRITE] = "block %0 rewritten with other data: "
				   "erasing it",
	[OTA_ENGINE_MSG_FINISHED] = "finish: ota_%0 holds %s0 %s1",
	[OTA_ENGINE_MSG_COMMIT_DONE] = "commit: otadata sector %0 seq %1 -> "
				       "ota_%2",
	[OTA_ENGINE_MSG_CONFIRM_DONE] = "confirm: ota_%d0 is VALID",
	[OTA_ENGINE_MSG_ROLLBACK_DONE] = "rollback: ota_%d0 marked INVALID, "
					 "reboot to run the previous image",
	[OTA_ENGINE_MSG_RECOVERING] = "completing interrupted otadata rewrite "
				      "of sector %0",
	[OTA_ENGINE_MSG_EFUSE_RAISED] = "anti-rollback: secure_version counter "
					"%0 -> %1",
	[OTA_ENGINE_MSG_BOOT_NO_IMAGE] = "bootloader: slot %d0 has no valid "
					 "image",
	[OTA_ENGINE_MSG_BOOT_BELOW] = "bootloader: slot %d0 secure_version %1 "
				      "is below the anti-rollback counter %2",
	[OTA_ENGINE_MSG_BOOT_ABORTED] = "bootloader: seq %0 was never "
					"confirmed: ABORTED",
	[OTA_ENGINE_MSG_BOOTING] = "bootloader: booting slot %d0 (%s0)",
	[OTA_ENGINE_MSG_REFUSED] = NULL, /* special */
	[OTA_ENGINE_MSG_COMMITTED_AGAIN] = "%s0 is committed already: it "
					   "boots next",
	[OTA_ENGINE_MSG_BLOCK_RETRY] = "block %0 failed its CRC check; asking "
				       "for it again",
	[OTA_ENGINE_MSG_ABORT_COMMITTED] = "abort after commit: the committed "
					   "image still boots next",
	[OTA_ENGINE_MSG_TAG_INVALID] = "the version tag is longer than 128 "
				       "bytes or holds a NUL byte",
	[OTA_ENGINE_MSG_TAG_IO] = "cannot store the version tag in the nvs "
				  "partition (error -%0)",
};

static const char *const calls[] = {
	[OTA_ENGINE_CALL_BEGIN] = "update",
	[OTA_ENGINE_CALL_WRITE] = "write",
	[OTA_ENGINE_CALL_VERIFY] = "block check",
	[OTA_ENGINE_CALL_FINISH] = "verification",
	[OTA_ENGINE_CALL_COMMIT] = "commit",
	[OTA_ENGINE_CALL_CONFIRM] = "confirm",
	[OTA_ENGINE_CALL_ROLLBACK] = "rollback",
};

static const char *const no_session[] = {
	[OTA_ENGINE_CALL_BEGIN] = "begin without an active session",
	[OTA_ENGINE_CALL_WRITE] = "write without an active session",
	[OTA_ENGINE_CALL_VERIFY] = "block verify without an active session",
	[OTA_ENGINE_CALL_FINISH] = "finish without an active session",
	[OTA_ENGINE_CALL_COMMIT] = "commit without an active session",
	[OTA_ENGINE_CALL_CONFIRM] = "confirm without an active session",
	[OTA_ENGINE_CALL_ROLLBACK] = "rollback without an active session",
};

struct out {
	char *buf;
	size_t cap, len;
};

static void put(struct out *o, const char *s, size_t n)
{
	while (n-- && *s) {
		if (o->len + 1 < o->cap)
			o->buf[o->len++] = *s;
		s++;
	}
	o->buf[o->len] = '\0';
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_num(struct out *o, char kind, uint32_t v)
{
	char num[16];

	if (kind == 'd')
		snprintf(num, sizeof(num), "%d", (int)v);
	else if (kind == 'x')
		snprintf(num, sizeof(num), "%x", v);
	else if (kind == 'X')
		snprintf(num, sizeof(num), "%08x", v);
	else
		snprintf(num, sizeof(num), "%u", v);
	put_str(o, num);
}

static const char *call_name(uint32_t c, const char *const *tab)
{
	return c <= OTA_ENGINE_CALL_ROLLBACK ? tab[c] : "?";
}

/* Expands one template (see the file comment). */
static void expand(struct out *o, const char *t,
		   const struct ota_engine_note *n)
{
	char text[160];

	while (*t) {
		const char *pct = strchr(t, '%');
		char kind;
		unsigned int i;

		if (!pct) {
			put_str(o, t);
			return;
		}
		put(o, t, (size_t)(pct - t));
		t = pct + 1;
		kind = *t;
		if (kind == '%' || kind == 'i') {
			if (kind == '%')
				put_str(o, "%");
			else if (n->ref)
				put_str(o, ota_image_describe(n->ref, text,
							      sizeof(text)));
			t++;
			continue;
		}
		if (kind < '0' || kind > '9')
			t++;
		i = (unsigned int)(*t - '0') & 3u;
		t++;
		switch (kind) {
		case 's':
			if (n->s[i & 1u])
				put(o, n->s[i & 1u],
				    ota_strnlen(n->s[i & 1u], 32));
			break;
		case 'c':
			put_str(o, ota_image_chip_name((uint16_t)n->n[i]));
			break;
		case 't':
			put_str(o, ota_otadata_state_str(n->n[i]));
			break;
		case 'g':
			put_str(o, ota_sigblock_strerror(
					   (enum ota_sigblock_err)n->n[i]));
			break;
		default: /* d, x, X, or a digit: decimal */
			put_num(o, kind, n->n[i]);
			break;
		}
	}
}

const char *ota_engine_note_format(const struct ota_engine_note *n, char *buf,
				   size_t cap)
{
	struct out o = { .buf = buf, .cap = cap };
	char inner[200];

	if (!cap)
		return buf;
	buf[0] = '\0';
	switch (n->msg) { /* int: only the special ones */
	case OTA_ENGINE_MSG_TOO_LARGE:
		expand(&o,
		       n->n[3] ? "image is %0 bytes + a 4 KiB signature "
				 "sector, slot ota_%d1 holds %2"
			       : "image is %0 bytes, slot ota_%d1 holds %2",
		       n);
		return buf;
	case OTA_ENGINE_MSG_WAIT_REBOOT:
	case OTA_ENGINE_MSG_COMMITTED_AGAIN:
		/* an image without a version string still gets a subject */
		if (!n->s[0] || !n->s[0][0])
			put_str(&o, n->msg == OTA_ENGINE_MSG_WAIT_REBOOT
					    ? "an image"
					    : "the image");
		expand(&o, templates[n->msg], n);
		return buf;
	case OTA_ENGINE_MSG_NO_SESSION:
		put_str(&o, call_name(n->n[0], no_session));
		return buf;
	case OTA_ENGINE_MSG_BEGIN:
		expand(&o, "begin: %0 bytes into ota_%d1", n);
		if (n->n[2] & 1u)
			put_str(&o, " (signed)");
		if (n->n[2] & 2u)
			put_str(&o, " (resumed)");
		return buf;
	case OTA_ENGINE_MSG_REFUSED: {
		const struct ota_engine_note *why = n->ref;

		put_str(&o, call_name(n->n[0], calls));
		put_str(&o, " refused: ");
		put_str(&o, ota_engine_reason_name(
				    why ? (enum ota_engine_reason)why->reason
					: OTA_ENGINE_REASON_NONE));
		if (why && why->msg) {
			ota_engine_note_format(why, inner, sizeof(inner));
			put_str(&o, ": ");
			put_str(&o, inner);
		}
		return buf;
	}
	default:
		break;
	}
	if (n->msg < OTA_ENGINE_MSG_COUNT && templates[n->msg])
		expand(&o, templates[n->msg], n);
	else {
		put_str(&o, "message ");
		put_num(&o, 'u', n->msg);
	}
	return buf;
}

const char *ota_engine_last_detail(const struct ota_engine *eng)
{
	static _Thread_local char line[200];

	return ota_engine_note_format(ota_engine_last_note(eng), line,
				      sizeof(line));
}
