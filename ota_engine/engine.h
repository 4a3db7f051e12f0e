/* SPDX-License-Identifier: MIT */
/*
 * The OTA engine: receives an image into the OTA slot that is not running,
 * verifies it, selects it in otadata, and runs a simulated ESP-IDF
 * bootloader with rollback. Storage only through struct ota_flash_ops; no
 * allocation (struct ota_engine is placed by the caller); libc + crypto.h.
 *
 * Typical use (host simulation; device firmware starts with
 * ota_engine_open() + ota_engine_set_running() instead, see below):
 *
 *   ota_engine_init(&eng, &cfg);     power-on: parse table, recover
 *   ota_engine_boot(&eng);           the bootloader's decision
 *   ota_engine_begin(&eng, &m, 0);   pre-flight; resumes a matching journal
 *     (or ota_engine_begin_signed(&eng, &m, sig, sig_len, 0) for a signed
 *     image: the signature is checked here, before any flash change)
 *   ota_engine_write(...) / ota_engine_block_verify(...)   any order
 *   ota_engine_finish(&eng);         whole-image verification
 *   ota_engine_commit(&eng);         otadata selects the new slot (NEW)
 *   ... reboot: ota_engine_init + ota_engine_boot -> PENDING_VERIFY
 *   ota_engine_confirm(&eng);        VALID  (or ota_engine_rollback)
 *
 * Errors: every call returns 0 or -errno and, on failure, sets a reason
 * (ota_engine_last_reason()) plus a note: a message code with its numbers
 * (ota_engine_last_note()). The engine carries no words and no printf: a
 * host turns a note into a sentence (ota_engine_note_format(),
 * ota_engine_last_detail(), ota_engine_reason_str(), all in engine_text.c,
 * which device builds leave out). A refused call changes nothing.
 *
 * Modules, by lifetime (docs/ota-engine.md "Module map"): engine.c (power
 * on, queries), preflight.c (read-only checks -> plan), session.c
 * (begin/write/verify/finish/abort) with stream.c (format check and hashes
 * in one in-order pass), boot.c (commit/confirm/rollback, the running
 * slot), boot_sim.c (the simulated bootloader: host builds and tests
 * only), engine_io.c (flash reads, slot geometry),
 * engine_err.c (reasons and notes), engine_sink.c (the receiver adapter).
 */
#ifndef BLEOTA_OTA_ENGINE_ENGINE_H
#define BLEOTA_OTA_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_engine/crypto.h"
#include "ota_engine/delta.h"
#include "ota_engine/flash.h"
#include "ota_engine/image.h"
#include "ota_engine/journal.h"
#include "ota_engine/parttable.h"
#include "ota_engine/sigblock.h"

/*
 * Delta updates (docs/ota-engine.md §15.5): 1 builds them in, 0 leaves the
 * patch decoder out (struct ota_engine is then about 80 bytes smaller and
 * a delta manifest is refused).
 */
#ifndef OTA_ENGINE_DELTA
#define OTA_ENGINE_DELTA 1
#endif

/** The wire protocol's block: image bytes [b * 4096, (b + 1) * 4096). */
#define OTA_ENGINE_BLOCK_SIZE 4096u
/** Largest image in blocks (16 MiB); sizes the two RAM bitmaps (1 KiB). */
#define OTA_ENGINE_MAX_BLOCKS 4096u

/* ota_engine_begin() flags */
#define OTA_ENGINE_FORCE     0x1u /* allow the running or last failed image */
#define OTA_ENGINE_NO_RESUME 0x2u /* discard a matching partial journal */
#define OTA_ENGINE_SIG_IN_IMAGE \
	0x4u /* signed: the image's last 4 KiB are its signature sector */
/*
 * The receiver's BEGIN policy (engine_sink.c): a session for another image
 * (or any, with NO_RESUME) is ended instead of BUSY; after commit, the same
 * image again is 0 (nothing to send: every block reads as verified, finish
 * and commit are 0) and another one is REBOOT_REQUIRED.
 */
#define OTA_ENGINE_RECEIVER 0x8u

/** Trusted signing keys (key digests) a device can be configured with. */
#define OTA_ENGINE_MAX_TRUSTED_KEYS 3u

/* Slot numbers in status and info */
#define OTA_ENGINE_SLOT_FACTORY (-1)
#define OTA_ENGINE_SLOT_NONE    (-2)

#define OTA_ENGINE_LOG_ERR   3
#define OTA_ENGINE_LOG_WARN  4
#define OTA_ENGINE_LOG_INFO  6
#define OTA_ENGINE_LOG_DEBUG 7

/**
 * What a note says. The numbers and strings it needs travel in struct
 * ota_engine_note; the words live on the host (engine_text.c).
 */
enum ota_engine_msg {
	OTA_ENGINE_MSG_NONE,
	/* failures (the detail of ota_engine_last_reason()) */
	OTA_ENGINE_MSG_TABLE_READ,   /* cannot read the partition table */
	OTA_ENGINE_MSG_NO_TABLE,     /* no valid partition table at 0x8000 */
	OTA_ENGINE_MSG_JOURNAL_READ, /* cannot read the journal partition */
	OTA_ENGINE_MSG_EFUSE_READ,   /* cannot read the counter */
	OTA_ENGINE_MSG_RECOVER_IO,   /* flash error recovering otadata */
	OTA_ENGINE_MSG_BOOT_READ,    /* flash error reading the boot slot */
	OTA_ENGINE_MSG_UNSIGNED,     /* unsigned, signature required */
	OTA_ENGINE_MSG_SIG_LEN,      /* n0: signature sector length */
	OTA_ENGINE_MSG_SIG_PAD,      /* n0: image size not padded */
	OTA_ENGINE_MSG_SIG_NO_BLOCK, /* n0: block 0's ota_sigblock_err */
	OTA_ENGINE_MSG_RUNNING_READ, /* cannot read the running app */
	OTA_ENGINE_MSG_UNTRUSTED,    /* no block with a trusted key */
	OTA_ENGINE_MSG_RUNNING_UNSIGNED, /* the running app trusts no key */
	OTA_ENGINE_MSG_SIG_OTHER_DIGEST, /* signs another image */
	OTA_ENGINE_MSG_SIG_NONE_VERIFIES,
	OTA_ENGINE_MSG_SIZE_ZERO,
	OTA_ENGINE_MSG_NO_OTA_SLOT,
	OTA_ENGINE_MSG_OTADATA_READ,
	OTA_ENGINE_MSG_PENDING,    /* n0: slot */
	OTA_ENGINE_MSG_TOO_LARGE,  /* n0 size, n1 slot, n2 slot size, n3 sig */
	OTA_ENGINE_MSG_WRONG_CHIP, /* n0 image chip, n1 device chip */
	OTA_ENGINE_MSG_DOWNGRADE,  /* n0 image, n1 floor */
	OTA_ENGINE_MSG_JOURNAL_IO, /* flash error in the journal */
	OTA_ENGINE_MSG_REJECTED,   /* this image was rejected before */
	OTA_ENGINE_MSG_SLOT_READ,  /* n0: slot */
	OTA_ENGINE_MSG_RUNS_ALREADY, /* n0 slot, s0 version */
	OTA_ENGINE_MSG_OTHER_SESSION,
	OTA_ENGINE_MSG_COMMITTED,   /* an update is committed: reboot */
	OTA_ENGINE_MSG_START_IO,    /* flash error starting the session */
	OTA_ENGINE_MSG_NO_SESSION,  /* n0: the call (enum below) */
	OTA_ENGINE_MSG_WRITE_RANGE, /* n0 offset, n1 len, n2 image size */
	OTA_ENGINE_MSG_WRITE_IO,    /* n0: image offset */
	OTA_ENGINE_MSG_BLOCK_RANGE, /* n0 block, n1 blocks */
	OTA_ENGINE_MSG_BLOCK_READ,  /* n0 block */
	OTA_ENGINE_MSG_BLOCK_CRC,   /* n0 block, n1 CRC read, n2 expected */
	OTA_ENGINE_MSG_IMAGE_READ,  /* flash error reading the image */
	OTA_ENGINE_MSG_IMAGE,       /* ref: the struct ota_image_verify */
	OTA_ENGINE_MSG_HDR_CHIP,    /* n0 header chip, n1 manifest chip */
	OTA_ENGINE_MSG_APP_VERSION, /* s0 image, s1 manifest */
	OTA_ENGINE_MSG_APP_PROJECT, /* s0 image, s1 manifest */
	OTA_ENGINE_MSG_APP_SECVER,  /* n0 image, n1 manifest */
	OTA_ENGINE_MSG_SIG_DIGEST,  /* n0 signed bytes, n1 block */
	OTA_ENGINE_MSG_SIG_PLACE,   /* n0 image_len, n1 want, n2 region */
	OTA_ENGINE_MSG_SIG_WRITE,
	OTA_ENGINE_MSG_SIG_READ,
	OTA_ENGINE_MSG_SIG_DIFFERS,
	OTA_ENGINE_MSG_MISSING, /* n0 missing, n1 blocks */
	OTA_ENGINE_MSG_RESEND,  /* n0 unverified, n1 blocks */
	OTA_ENGINE_MSG_HASH,    /* n0 size, n1 slot */
	OTA_ENGINE_MSG_COMMIT_EARLY,
	OTA_ENGINE_MSG_NO_OTADATA,
	OTA_ENGINE_MSG_SELECT, /* n0 slot */
	OTA_ENGINE_MSG_OTADATA_IO,
	OTA_ENGINE_MSG_NOT_OTA,  /* not running from an OTA slot */
	OTA_ENGINE_MSG_STATE,    /* n0 slot, n1 otadata state */
	OTA_ENGINE_MSG_NO_ENTRY, /* n0 slot: not in otadata */
	OTA_ENGINE_MSG_EFUSE_IO,
	OTA_ENGINE_MSG_NO_PREVIOUS, /* n0 slot */
	OTA_ENGINE_MSG_CLOSE_IO,    /* flash error closing the journal */
	OTA_ENGINE_MSG_BOOT_IO,     /* flash error in the bootloader */
	OTA_ENGINE_MSG_NO_BOOTABLE,
	OTA_ENGINE_MSG_WAIT_REBOOT, /* s0: committed version */
	/* log lines */
	OTA_ENGINE_MSG_BEGIN,          /* n0 size, n1 slot, n2 bit0 signed,
				      * bit1 resumed */
	OTA_ENGINE_MSG_RESUME_CHANGED, /* n0 block */
	OTA_ENGINE_MSG_REWRITE,        /* n0 block */
	OTA_ENGINE_MSG_FINISHED,       /* n0 slot, s0 project, s1 version */
	OTA_ENGINE_MSG_COMMIT_DONE,    /* n0 sector, n1 seq, n2 slot */
	OTA_ENGINE_MSG_CONFIRM_DONE,   /* n0 slot */
	OTA_ENGINE_MSG_ROLLBACK_DONE,  /* n0 slot */
	OTA_ENGINE_MSG_RECOVERING,     /* n0 sector */
	OTA_ENGINE_MSG_EFUSE_RAISED,   /* n0 old, n1 new */
	OTA_ENGINE_MSG_BOOT_NO_IMAGE,  /* n0 slot */
	OTA_ENGINE_MSG_BOOT_BELOW,     /* n0 slot, n1 image, n2 counter */
	OTA_ENGINE_MSG_BOOT_ABORTED,   /* n0 seq */
	OTA_ENGINE_MSG_BOOTING,        /* n0 slot, s0 version */
	/* the receiver adapter (engine_sink.c) */
	OTA_ENGINE_MSG_REFUSED,         /* n0 call; ref: the failure's note */
	OTA_ENGINE_MSG_COMMITTED_AGAIN, /* s0 version */
	OTA_ENGINE_MSG_BLOCK_RETRY,     /* n0 block */
	OTA_ENGINE_MSG_ABORT_COMMITTED,
	/* the version tag (tag.c) */
	OTA_ENGINE_MSG_TAG_INVALID, /* longer than 128 or with a NUL */
	OTA_ENGINE_MSG_TAG_IO,      /* n0: -errno of the NVS call */
	/* delta sessions (session_delta.c) */
	OTA_ENGINE_MSG_BASE_DIFFERS, /* n0: 0 running image, 1 esp header */
	OTA_ENGINE_MSG_NO_BASE,      /* n0 slot: running image unreadable */
	OTA_ENGINE_MSG_BAD_PATCH,    /* n0 enum ota_delta_err, n1 offset */
	OTA_ENGINE_MSG_PATCH_SIZE,   /* n0 patch to-size, n1 image size */
	OTA_ENGINE_MSG_PATCH_ORDER,  /* n0 offset, n1 expected offset */
	OTA_ENGINE_MSG_NO_DELTA,     /* this build takes no patches */
	OTA_ENGINE_MSG_DELTA_RESUME, /* n0 patch offset, n1 image offset */
	OTA_ENGINE_MSG_COUNT
};

/* The call a NO_SESSION or REFUSED note names (n0). */
enum ota_engine_call {
	OTA_ENGINE_CALL_BEGIN,
	OTA_ENGINE_CALL_WRITE,
	OTA_ENGINE_CALL_VERIFY,
	OTA_ENGINE_CALL_FINISH,
	OTA_ENGINE_CALL_COMMIT,
	OTA_ENGINE_CALL_CONFIRM,
	OTA_ENGINE_CALL_ROLLBACK,
};

/**
 * One message: a code and its arguments. Strings point at NUL-padded
 * fields of at most 32 chars inside the engine (or NULL) and @ref at
 * engine state; both stay valid until the next engine call.
 */
struct ota_engine_note {
	uint8_t msg;    /* enum ota_engine_msg */
	uint8_t reason; /* enum ota_engine_reason; NONE for a log line */
	uint8_t level;  /* OTA_ENGINE_LOG_* */
	uint32_t n[4];
	const char *s[2];
	const void *ref;
};

typedef void (*ota_engine_log_cb_t)(const struct ota_engine_note *note,
				    void *user_data);

/** Why the last call failed. Names are stable (logs, wire mapping). */
enum ota_engine_reason {
	OTA_ENGINE_REASON_NONE,
	OTA_ENGINE_REASON_BUSY,        /* -EBUSY: another session is active */
	OTA_ENGINE_REASON_UNCONFIRMED, /* -EBUSY: running image not confirmed */
	OTA_ENGINE_REASON_BAD_MANIFEST,   /* -EINVAL: size 0 or bad strings */
	OTA_ENGINE_REASON_NO_SLOT,        /* -ENODEV: no OTA slot / bad table */
	OTA_ENGINE_REASON_TOO_LARGE,      /* -ENOSPC: does not fit the slot */
	OTA_ENGINE_REASON_WRONG_CHIP,     /* -ENOEXEC: built for another chip */
	OTA_ENGINE_REASON_DOWNGRADE,      /* -EPERM: secure_version too low */
	OTA_ENGINE_REASON_SAME_AS_FAILED, /* -EPERM: last failed image */
	OTA_ENGINE_REASON_SAME_AS_RUNNING, /* -EALREADY: already running */
	OTA_ENGINE_REASON_NO_SESSION,      /* -EPROTO: no begin() */
	OTA_ENGINE_REASON_OUT_OF_RANGE,    /* -EINVAL: beyond image_size */
	OTA_ENGINE_REASON_BLOCK_CRC,       /* -EILSEQ: block CRC mismatch */
	OTA_ENGINE_REASON_BAD_IMAGE,       /* -ENOEXEC: not a valid ESP image */
	OTA_ENGINE_REASON_HASH_MISMATCH,   /* -EILSEQ: SHA-256 != manifest */
	OTA_ENGINE_REASON_MANIFEST_MISMATCH, /* -ENOEXEC: app desc != manifest */
	OTA_ENGINE_REASON_INCOMPLETE,        /* -EAGAIN: blocks missing */
	OTA_ENGINE_REASON_NOT_VERIFIED,      /* -EPROTO: commit before finish */
	OTA_ENGINE_REASON_NOTHING_PENDING,   /* -EALREADY: nothing to confirm */
	OTA_ENGINE_REASON_NO_ROLLBACK_TARGET, /* -ENOENT */
	OTA_ENGINE_REASON_NO_BOOTABLE, /* -ENOENT: bootloader found nothing */
	OTA_ENGINE_REASON_FLASH_ERROR, /* -EIO */
	OTA_ENGINE_REASON_SIGNATURE_REQUIRED, /* -EACCES: unsigned, key set */
	OTA_ENGINE_REASON_BAD_SIGNATURE,      /* -EBADMSG: does not verify */
	OTA_ENGINE_REASON_UNTRUSTED_KEY,   /* -EACCES: verifies, not trusted */
	OTA_ENGINE_REASON_REBOOT_REQUIRED, /* -EBUSY: committed, reboot */
	OTA_ENGINE_REASON_WRONG_BASE,      /* -EXDEV: patch for another image */
	OTA_ENGINE_REASON_BAD_PATCH,       /* -EBADMSG: patch malformed */
};

/** "TOO_LARGE", ... (host builds: engine_text.c) */
const char *ota_engine_reason_name(enum ota_engine_reason r);
/** What went wrong and what to do, one sentence (host builds). */
const char *ota_engine_reason_str(enum ota_engine_reason r);

struct ota_engine_cfg {
	const struct ota_flash_ops *flash;
	void *flash_ctx;
	bool rollback_disabled; /* zero: rollback on (NEW/PENDING_VERIFY) */
	uint16_t chip_id;       /* this device's chip (esp_chip_id_t) */
	uint16_t chip_rev;      /* major * 100 + minor */
	/*
	 * Simulated eFuse anti-rollback counter as burnt at the factory. The
	 * counter the engine uses is the larger of this and the value
	 * persisted in the journal partition (raised by confirm).
	 */
	uint32_t secure_version;
	bool inspect_only; /* init never writes (tools reading a flash) */
	/*
	 * Signed images. With trusted_key_count > 0, or with
	 * trust_running_app_key (ESP-IDF's signed apps without secure boot:
	 * the running app's signature block 0 key is the only trusted key,
	 * and only block 0 of a new image counts), every image must carry a
	 * signature block made with a trusted key. With neither, signatures
	 * are optional (but one that is sent must verify).
	 */
	uint8_t trusted_key_digest[OTA_ENGINE_MAX_TRUSTED_KEYS][OTA_SHA256_LEN];
	unsigned int trusted_key_count;
	bool trust_running_app_key;
	ota_engine_log_cb_t log;
	void *log_data;
};

/** What BEGIN announces. Strings are NUL-padded as in esp_app_desc_t. */
struct ota_engine_manifest {
	uint32_t image_size;
	uint8_t sha256[OTA_SHA256_LEN]; /* of all image_size bytes */
	char version[32];
	char project[32];
	uint16_t chip_id;
	uint32_t secure_version;
	/*
	 * Delta (encoding OTA_ENGINE_ENC_DELTA): the bytes written are a
	 * detools patch of patch_size bytes that rebuilds the image the fields
	 * above describe from the running image, whose validation hash (its
	 * appended SHA-256) must be base_sha256; without has_base_sha256 the
	 * patch may not read a base (a compressed full image).
	 */
	uint8_t encoding; /* OTA_ENGINE_ENC_* */
	uint32_t patch_size;
	bool has_base_sha256;
	uint8_t base_sha256[OTA_SHA256_LEN];
};
#define OTA_ENGINE_ENC_PLAIN 0u
#define OTA_ENGINE_ENC_DELTA 1u

/** Bytes written into a session of @m: the patch's, or the image's. */
static inline uint32_t
ota_engine_stream_size(const struct ota_engine_manifest *m)
{
	return m->encoding == OTA_ENGINE_ENC_DELTA ? m->patch_size
						   : m->image_size;
}

enum ota_engine_session {
	OTA_ENGINE_SESSION_IDLE,
	OTA_ENGINE_SESSION_RECEIVING,
	OTA_ENGINE_SESSION_VERIFIED,
	OTA_ENGINE_SESSION_COMMITTED,
};

struct ota_engine_status {
	int running_slot; /* 0..15, FACTORY or NONE */
	char running_version[33];
	char running_project[33];
	uint32_t running_secure_version;
	uint32_t running_state; /* OTA_IMG_*; UNDEFINED if no entry */
	int boot_slot;          /* what otadata selects now (or NONE) */
	int other_slot;         /* the update target, or NONE */
	uint32_t other_state;
	char other_version[33]; /* app desc found there ("" if none) */
	char other_project[33];
	enum ota_engine_session session;
	uint32_t image_size;
	uint32_t bytes_verified;
	enum ota_engine_reason last_reason;
	bool has_last_invalid;
	int last_invalid_slot; /* from otadata (INVALID/ABORTED), or NONE */
	uint8_t last_invalid_sha256[OTA_SHA256_LEN];
	uint32_t efuse_secure_version;
};

struct ota_engine_info {
	uint32_t slot_size; /* of the update target */
	uint16_t chip_id;
	char version[33];
	char project[33];
	uint32_t secure_version;
	/* the running image's validation hash (ota_engine_running_hash()) */
	bool has_run_sha256;
	uint8_t run_sha256[OTA_SHA256_LEN];
};

/*
 * Pre-flight's verdict (ota_engine_preflight()): where the image goes and,
 * for a signed one, which signature block was accepted and the digest the
 * image must hash to.
 */
struct ota_engine_plan {
	unsigned int slot;
	uint32_t slot_off;
	uint32_t slot_size;
	bool sig_on;
	bool sig_in_image;
	uint8_t sig_block;      /* the block that verified */
	uint8_t sig_digest_len; /* 32 (SHA-256) or 48 (P-384) */
	uint32_t sig_region;    /* signed bytes; the sector starts here */
	uint8_t sig_digest[OTA_SIGBLOCK_DIGEST_MAX];
	/* delta: the base a patch may read (the running image) */
	uint32_t base_off;
	uint32_t base_size;
};

/* Treat as opaque: placed by the caller, about 3 KiB, layout may change. */
struct ota_engine {
	struct ota_engine_cfg cfg;
	struct ota_layout layout;
	bool table_ok;
	uint32_t flash_size;
	int running;
	bool running_desc_ok;
	struct ota_app_desc running_desc;
	uint32_t efuse_secure_version;
	struct ota_journal jr;
	/* the session (session.c) */
	enum ota_engine_session session;
	bool committed_again; /* OTA_ENGINE_RECEIVER: same image after commit */
	struct ota_engine_manifest man;
	struct ota_engine_plan plan;
	uint32_t nblocks;
	uint8_t verified[OTA_ENGINE_MAX_BLOCKS / 8];
	uint8_t erased[OTA_ENGINE_MAX_BLOCKS / 8];
	/*
	 * The in-order stream over verified blocks: the ESP format check and
	 * the whole-image SHA-256 in one pass (iv.cfg.hash_all), so finish
	 * only completes it. P-384 signatures also need SHA-384 of the region.
	 */
	uint32_t stream_next; /* next block the stream takes */
	bool stream_failed;
	bool stream_on;   /* iv holds this session's stream */
	bool sig_snapped; /* sig_calc holds the signed region's digest */
	bool delta_live;  /* @delta holds the session's decoder */
	/* a delta session decodes while it receives and checks the image
	 * at finish: the decoder and the stream never live at once */
	union {
		struct {
			struct ota_image_verify iv;
			struct ota_sha384 sha384;
			uint8_t sig_calc[OTA_SIGBLOCK_DIGEST_MAX];
		};
#if OTA_ENGINE_DELTA
		struct ota_delta delta;
#endif
	};
	/* SHA-256 of the signature sector bytes BEGIN carried and wrote */
	uint8_t sig_sector_sha[OTA_SHA256_LEN];
	uint16_t sig_len;
	int8_t run_hash_slot; /* run_hash_at is for this slot */
	enum ota_engine_reason reason;
	struct ota_engine_note note; /* of the last failure */
	/* delta sessions (session_delta.c) */
	uint32_t delta_fed;   /* patch bytes decoded: the next write's offset */
	uint32_t delta_crc;   /* CRC-32 of the current block's bytes so far */
	uint32_t run_hash_at; /* offset of the running image's hash, 0 none */
};

/**
 * Power-on of the device side: read and verify the partition table at
 * 0x8000, bind the journal and complete any interrupted otadata rewrite.
 * The running slot is not known yet (OTA_ENGINE_SLOT_NONE): firmware calls
 * ota_engine_set_running() next; the host simulation calls
 * ota_engine_init() instead, which does this and then predicts it.
 * @cfg is copied; cfg->flash must stay valid.
 * The flash must be byte-programmable (write_align 1; flash encryption's
 * 16-byte writes are not supported) with 4 KiB erase sectors.
 * Returns 0, -EINVAL (bad flash ops), -ENODEV (no valid partition table;
 * the engine then refuses every update), -EIO.
 */
int ota_engine_open(struct ota_engine *eng, const struct ota_engine_cfg *cfg);

/**
 * Tell the engine which slot the device's own bootloader started (on
 * ESP-IDF, the OTA slot or factory of esp_ota_get_running_partition()):
 * @slot >= 0 for ota_N, OTA_ENGINE_SLOT_FACTORY. Call once after
 * ota_engine_open(), before any other call. The bootloader verified the
 * image, so only its app descriptor is read (version, project and
 * secure_version, for pre-flight and INFO); if @slot's otadata entry is
 * VALID the anti-rollback counter is raised to its secure_version, as
 * ota_engine_boot() does.
 * Returns 0, -EINVAL (@slot is not a partition of the table), -ENODEV (no
 * partition table), -ENOENT (NO_BOOTABLE: no app descriptor there), -EIO.
 */
int ota_engine_set_running(struct ota_engine *eng, int slot);

/**
 * ota_engine_open() plus the simulated bootloader's prediction (without
 * writing) of which slot it would run. Host builds and tests (boot_sim.c;
 * device firmware does not link it). Call ota_engine_boot() next to
 * perform the bootloader's own transitions. Returns as ota_engine_open().
 */
int ota_engine_init(struct ota_engine *eng, const struct ota_engine_cfg *cfg);

/**
 * The simulated ESP-IDF bootloader at power-on (boot_sim.c, host builds and
 * tests only): PENDING_VERIFY -> ABORTED,
 * pick the active otadata entry (factory / ota_0 fallbacks), NEW ->
 * PENDING_VERIFY, verify the chosen image and walk down/up the slots as IDF
 * does when it is broken. Anti-rollback: an image whose secure_version is
 * below the eFuse counter is skipped like a broken one; booting a VALID
 * entry raises the counter to its secure_version. Records the running
 * slot; ends any RAM session.
 * Returns the slot (>= 0, or OTA_ENGINE_SLOT_FACTORY) or -ENOENT (nothing
 * bootable), -EIO.
 * Power loss: state changes go through the journal's intent records and are
 * completed at the next init, so each is atomic (docs/ota-engine.md).
 */
int ota_engine_boot(struct ota_engine *eng);

/**
 * Start (or resume) receiving @m into the slot after the running one.
 * Pre-flight first, with no flash change on refusal: BUSY, UNCONFIRMED,
 * BAD_MANIFEST, NO_SLOT, TOO_LARGE, WRONG_CHIP, DOWNGRADE (secure_version
 * below the eFuse counter or the running app's), SIGNATURE_REQUIRED
 * (-EACCES; a trusted key is configured: use ota_engine_begin_signed()),
 * SAME_AS_FAILED and SAME_AS_RUNNING (both skipped with OTA_ENGINE_FORCE).
 * Then, if the resume journal holds the same image for the same slot (and
 * no OTA_ENGINE_NO_RESUME), every journalled block is re-read and its CRC
 * re-checked and resumes as verified; otherwise the stale otadata entry of
 * the target is erased and a new journal session is written. Nothing in the
 * slot is erased here. Calling it again with the same manifest during a
 * session returns 0; after commit it is BUSY until the next boot.
 * Power loss: the running slot and its otadata entry are never touched.
 */
int ota_engine_begin(struct ota_engine *eng,
		     const struct ota_engine_manifest *m, unsigned int flags);

/**
 * ota_engine_begin() for an image that may be signed (Secure Boot v2
 * format). @sig/@sig_len: the signature sector BEGIN carries: its used
 * blocks (k * 1216 bytes, k = 1..3) or the whole 4096-byte sector; NULL/0
 * for an unsigned image (then this is ota_engine_begin()). Borrowed; the
 * engine keeps a copy for the session.
 *
 * What @m describes (the bytes that are transferred):
 *  - default: the signed region only, i.e. the app padded with 0xFF to a
 *    4 KiB boundary (the signed file minus its last 4096 bytes). Then
 *    m->sha256 is the digest the blocks sign (SHA-256 schemes) and the
 *    engine writes the signature sector itself, at image_size, here at
 *    begin (read back and compared before it returns), so @sig is not
 *    kept in RAM; finish re-reads it and checks its SHA-256.
 *  - OTA_ENGINE_SIG_IN_IMAGE: the whole signed file; its last 4096 bytes
 *    are the signature sector and must equal @sig at finish.
 * In both cases image_size must be a multiple of 4096 and the signed
 * region + 4096 must fit the slot (TOO_LARGE).
 *
 * Pre-flight, after the checks of ota_engine_begin() up to DOWNGRADE and
 * before anything is written, refusing with:
 *  SIGNATURE_REQUIRED (-EACCES): no @sig while a trusted key is
 *      configured (cfg.trusted_key_count or cfg.trust_running_app_key);
 *  BAD_SIGNATURE (-EBADMSG): no valid block, a block of a trusted key
 *      whose signature does not verify, or (default layout, SHA-256
 *      schemes) blocks that sign a digest other than m->sha256;
 *  UNTRUSTED_KEY (-EACCES): a block verifies, but its key digest is not
 *      trusted (in running-app mode: block 0 vs the running app's block 0
 *      key; an unsigned running app trusts nothing);
 *  BAD_MANIFEST (-EINVAL): image_size not a multiple of 4096, @sig_len
 *      outside 1216..4096.
 * ota_engine_finish() then also requires: the SHA-256 (SHA-384 for P-384)
 * of the signed region, as read from flash into the stream, equals the
 * accepted block's digest, the app image ends in the last 4 KiB of the
 * region (the sector is at ALIGN_UP(image_len, 4096), where IDF looks),
 * and the signature sector read back from flash has @sig's SHA-256
 * (BAD_SIGNATURE otherwise).
 * Returns as ota_engine_begin() plus the above. Power loss: as
 * ota_engine_begin(); a resumed session must be begun again with the same
 * @sig.
 */
int ota_engine_begin_signed(struct ota_engine *eng,
			    const struct ota_engine_manifest *m,
			    const uint8_t *sig, size_t sig_len,
			    unsigned int flags);

/**
 * The read-only half of ota_engine_begin_signed(): every refusal it lists
 * (BUSY for an active or committed session), without changing flash.
 * On 0, @plan says where the image goes and which signature block holds.
 * Reads otadata, the journal and (for SAME_AS_RUNNING / running-app keys)
 * the running slot.
 */
int ota_engine_preflight(struct ota_engine *eng,
			 const struct ota_engine_manifest *m,
			 const uint8_t *sig, size_t sig_len, unsigned int flags,
			 struct ota_engine_plan *plan);

/**
 * Write @len bytes of image at image offset @offset. Idempotent for
 * identical data; bytes of already verified blocks are skipped; a sector is
 * erased the first time its block is touched in this boot, or when the
 * new data conflicts with what is programmed (the block's CRC will then fail
 * and the sender resends the whole block).
 * Returns 0, -EPROTO (NO_SESSION), -EINVAL (OUT_OF_RANGE), -EIO.
 */
int ota_engine_write(struct ota_engine *eng, uint32_t offset,
		     const uint8_t *data, size_t len);

/**
 * Read block @block back and compare its CRC-32 (IEEE) with @crc32. On a
 * match it is journalled as verified and 0 is returned. On a mismatch:
 * -EILSEQ (BLOCK_CRC), the block is unverified and its sector will be
 * erased by the next write into it. Verified blocks also feed, in order,
 * the stream (the image check and every hash; the next block in order from
 * the same read as its CRC): once the verified prefix proves the image can
 * never be accepted (bad header, wrong chip, app desc != manifest) the call
 * returns -ENOEXEC (BAD_IMAGE / MANIFEST_MISMATCH): stop and abort.
 * Also -EPROTO (NO_SESSION), -EINVAL (block out of range), -EIO.
 */
int ota_engine_block_verify(struct ota_engine *eng, uint32_t block,
			    uint32_t crc32);

/**
 * True if @block is verified in the current session (every block, after a
 * receiver BEGIN of the image already committed).
 */
bool ota_engine_block_is_verified(const struct ota_engine *eng, uint32_t block);

/**
 * Verify the whole written image: ESP format (header, segments, checksum,
 * appended SHA-256, fits the slot, right chip), SHA-256 of all image_size
 * bytes == manifest, and app desc / chip == manifest. The bytes were read
 * back from flash, CRC-checked and hashed once by block verification (the
 * in-order stream); finish completes that stream and reads the image again
 * only for blocks that were written but never block-verified.
 * Returns 0 (session VERIFIED; again 0 if already verified), -EAGAIN
 * (INCOMPLETE: blocks never written; session kept), -EILSEQ
 * (HASH_MISMATCH), -ENOEXEC (BAD_IMAGE with detail, MANIFEST_MISMATCH),
 * -EPROTO, -EIO. HASH_MISMATCH with blocks that were written but never
 * block-verified keeps the session: those blocks are to be resent. Otherwise
 * after -EILSEQ/-ENOEXEC the session and journal are discarded; an image
 * that hashes right but is invalid is remembered as failed (SAME_AS_FAILED).
 */
int ota_engine_finish(struct ota_engine *eng);

/**
 * Select the verified slot for the next boot (esp_ota_set_boot_partition:
 * the inactive otadata sector gets seq' with state NEW, or UNDEFINED when
 * rollback is disabled) and close the resume journal. Idempotent.
 * Returns 0, -EPROTO (NOT_VERIFIED), -EIO.
 * Power loss: before the new entry's CRC lands the old entry still wins;
 * the journal still holds the session, so begin + finish + commit again.
 */
int ota_engine_commit(struct ota_engine *eng);

/**
 * Mark the running PENDING_VERIFY image VALID (cancels rollback) and raise
 * the simulated eFuse secure_version to the app's (never lowered;
 * persisted in the journal partition as an EFUSE record, RAM-only without
 * one). 0 if already VALID.
 * Returns 0, -EALREADY (NOTHING_PENDING), -EIO.
 * Power loss: the otadata change is intent-protected and completes at the
 * next init; if the counter record did not land, the next boot raises it
 * (the bootloader raises the counter for a VALID entry, as IDF's
 * CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK does).
 */
int ota_engine_confirm(struct ota_engine *eng);

/**
 * Mark the running image INVALID so that the next boot runs the previous
 * slot (esp_ota_mark_app_invalid_rollback). Refused unless the other
 * otadata entry is valid and its image verifies (or a factory app does).
 * Returns 0, -ENOENT (NO_ROLLBACK_TARGET), -EIO. Call ota_engine_boot()
 * (reboot) afterwards. Power loss: intent-protected.
 */
int ota_engine_rollback(struct ota_engine *eng);

/**
 * Discard the session and close the journal. The running slot and otadata
 * are untouched. Always 0 unless the journal write fails (-EIO).
 */
int ota_engine_abort(struct ota_engine *eng);

/** Fill @out. Reads otadata and the journal; 0 or -EIO. */
int ota_engine_status(struct ota_engine *eng, struct ota_engine_status *out);

/**
 * ota_engine_running_hash() - the running image's ESP-IDF validation hash
 * (its appended SHA-256, what esp_partition_get_sha256() returns for the
 * slot): what a patch's base must be. The image is verified once per boot
 * (a delta session's decoder is then checkpointed state, taken up again
 * from the journal). Returns 0, -ENOENT (no running image with an appended
 * hash) or -EIO.
 */
int ota_engine_running_hash(struct ota_engine *eng,
			    uint8_t out[OTA_SHA256_LEN]);

/** Fill @out for the Info characteristic. 0, or -ENODEV with no slot. */
int ota_engine_info(const struct ota_engine *eng, struct ota_engine_info *out);

/** Reason of the last failed call (NONE after a success). */
enum ota_engine_reason ota_engine_last_reason(const struct ota_engine *eng);

/** The note of the last failure (msg NONE after a success). */
const struct ota_engine_note *
ota_engine_last_note(const struct ota_engine *eng);

/**
 * ota_engine_note_format() - the words for @n, one line without the reason
 * name ("block 3: CRC 0x..., expected 0x..."). Host builds only
 * (engine_text.c). Returns @buf, always NUL-terminated (cap > 0).
 */
const char *ota_engine_note_format(const struct ota_engine_note *n, char *buf,
				   size_t cap);

/**
 * Detail line of the last failure ("" if none): ota_engine_note_format()
 * of ota_engine_last_note() into a per-thread buffer that the next call
 * overwrites. Host builds only.
 */
const char *ota_engine_last_detail(const struct ota_engine *eng);

/*
 * The firmware version tag (tag.c, docs/ota-engine.md §16.6). The device
 * keeps the tag of the image that runs in its nvs partition, as
 * bleota:fw_tag, where firmware reads it with nvs_get_str(). Needs the
 * first data/nvs partition (3 pages or more) and the journal partition;
 * without them the calls below do nothing and there is no tag.
 */
#define OTA_ENGINE_TAG_MAX 128u

/** True if this device stores version tags (INFO caps bit TAG). */
bool ota_engine_has_tags(const struct ota_engine *eng);

/**
 * ota_engine_set_tag() - bind the version tag @tag (@len bytes, no NUL,
 * not terminated; 0 = the image has no tag) to the session's image. Call
 * after a successful ota_engine_begin*() (also after commit, for the same
 * image again). Stored in NVS for the target slot together with the
 * image's SHA-256; the tag counts once the slot's COMMIT record names that
 * SHA-256, so a tag never outlives or precedes its image. A device without
 * tag storage ignores it (0).
 * Returns 0; -EPROTO (NO_SESSION); -EINVAL (BAD_MANIFEST: over 128 bytes
 * or a NUL); NVS errors (FLASH_ERROR): -ENOSPC, -EIO, -EPROTO.
 * Power loss: the running slot's tag is not touched.
 */
int ota_engine_set_tag(struct ota_engine *eng, const char *tag, size_t len);

/**
 * ota_engine_running_tag() - the tag of the image that runs into @out
 * (NUL-terminated; "" when it has none: never pushed with a tag, factory
 * or unknown). Also what ota_engine_boot() and ota_engine_confirm() store
 * as bleota:fw_tag. Returns 0, -ENODEV (no tag storage: @out is ""),
 * -EIO.
 */
int ota_engine_running_tag(struct ota_engine *eng,
			   char out[OTA_ENGINE_TAG_MAX + 1]);

#endif /* BLEOTA_OTA_ENGINE_ENGINE_H */
