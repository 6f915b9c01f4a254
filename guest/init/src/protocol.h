/*
 * The guest control protocol, version 1 (docs/guest-protocol.md).
 *
 * Frame: u8 version, u8 type, u16 flags, u32 session, u32 length, payload.
 * Record list: repeated u16 tag, u32 length, value. Everything little-endian.
 * This file only encodes and decodes; it does no I/O.
 */
#ifndef HEARTH_PROTOCOL_H
#define HEARTH_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 1
#define FRAME_HEADER_SIZE 12
#define FRAME_MAX_PAYLOAD (1u << 20)
#define RECORD_HEADER_SIZE 6
#define OUTPUT_HEADER_SIZE 12 /* u8 stream, u8[3] zero, u64 timestamp */

enum frame_type {
	/* host -> guest */
	FRAME_RUN = 0x01,
	FRAME_SIGNAL = 0x02,
	FRAME_STOP = 0x03,
	FRAME_EXIT_ACK = 0x04,
	FRAME_EXEC = 0x05,      /* session != 0: a record list */
	FRAME_STDIN = 0x06,     /* session: bytes */
	FRAME_STDIN_EOF = 0x07, /* session */
	FRAME_RESIZE = 0x08,    /* session: u16 rows, u16 cols */
	FRAME_TOP = 0x09,       /* empty: answered with PROCESSES */
	FRAME_CLOCK = 0x0a,     /* u64 ns since the epoch: set the guest clock */
	FRAME_COPY_OUT = 0x0b,  /* session != 0: a path; a tar of it comes as OUTPUT */
	FRAME_COPY_IN = 0x0c,   /* session != 0: a directory; a tar follows as STDIN */
	FRAME_STAT = 0x0d,      /* session != 0: a path; answered with STAT_RESULT or ERROR */
	FRAME_STATS = 0x0e,     /* empty: answered with STATS_RESULT (session 0, in order) */
	/* guest -> host */
	FRAME_HELLO = 0x81,
	FRAME_STARTED = 0x82,
	FRAME_OUTPUT = 0x83,
	FRAME_EXIT = 0x84,
	FRAME_ERROR = 0x85,
	FRAME_LOG = 0x86,
	FRAME_PROCESSES = 0x87,
	FRAME_STAT_RESULT = 0x88, /* a record list: NAME, SIZE, MODE, MTIME, LINK_TARGET */
	FRAME_STATS_RESULT = 0x89, /* a record list: the container cgroup's usage (tags 40..52) */
};

enum record_tag {
	TAG_ARG = 1,
	TAG_ENV = 2,
	TAG_CWD = 3,
	TAG_USER = 4,
	TAG_HOSTNAME = 5,
	TAG_HOSTS = 6,
	TAG_RESOLV_CONF = 7,
	TAG_ROOTFS_TYPE = 8,
	TAG_CLOCK = 9,
	TAG_AGENT_VERSION = 16,
	TAG_STATE = 17,
	TAG_PID = 18,
	TAG_EXIT_CODE = 19,
	/* EXEC */
	TAG_TTY = 20,   /* u8: 1 for a pseudo-terminal */
	TAG_STDIN = 21, /* u8: 1 for a stdin pipe (else /dev/null) */
	TAG_ROWS = 22,  /* u16 */
	TAG_COLS = 23,  /* u16 */
	/* PROCESSES: one PROCESS per process, its value a record list of the tags after it */
	TAG_PROCESS = 24,
	TAG_PPID = 25,     /* u32 (PID is TAG_PID) */
	TAG_PROC_USER = 26, /* user name, or the uid when passwd has none */
	TAG_CMDLINE = 27,  /* argv joined by spaces, or [comm] when empty */
	TAG_CPU_MS = 28,   /* u64: user + system time */
	TAG_RSS = 29,      /* u64: resident bytes */
	/* STAT_RESULT */
	TAG_NAME = 30,        /* the path's last component */
	TAG_SIZE = 31,        /* u64 */
	TAG_MODE = 32,        /* u32: st_mode (type and permission bits) */
	TAG_MTIME = 33,       /* u64: ns since the epoch */
	TAG_LINK_TARGET = 34, /* a symlink's target as stored */
	/* RUN: u64 bytes, the container cgroup's memory.max; STATS_RESULT: the same, read back */
	TAG_MEMORY_MAX = 40,
	TAG_OOM_KILLED = 41, /* EXIT of the main process: u8 1 when the OOM killer killed in the cgroup */
	/* STATS_RESULT, all u64 but ONLINE_CPUS (u32) */
	TAG_CPU_USAGE_USEC = 42,       /* cpu.stat usage_usec */
	TAG_CPU_USER_USEC = 43,        /* cpu.stat user_usec */
	TAG_CPU_SYSTEM_USEC = 44,      /* cpu.stat system_usec */
	TAG_MEMORY_CURRENT = 45,       /* memory.current, bytes */
	TAG_MEMORY_ANON = 46,          /* memory.stat anon */
	TAG_MEMORY_FILE = 47,          /* memory.stat file */
	TAG_MEMORY_INACTIVE_FILE = 48, /* memory.stat inactive_file */
	TAG_OOM_KILLS = 49,            /* memory.events oom_kill */
	TAG_PIDS_CURRENT = 50,         /* pids.current */
	TAG_GUEST_CPU_USEC = 51,       /* the guest's CPU time, busy and idle (/proc/stat's cpu line) */
	TAG_ONLINE_CPUS = 52,          /* u32 */
	/* RUN: one MOUNT per volume or tmpfs, its value a record list of the tags after it */
	TAG_MOUNT = 60,
	TAG_MOUNT_SOURCE = 61,   /* a virtio-blk serial (ext4), a virtio-fs tag, or "tmpfs" */
	TAG_MOUNT_FSTYPE = 62,   /* "ext4", "virtiofs" or "tmpfs" */
	TAG_MOUNT_TARGET = 63,   /* an absolute path in the container */
	TAG_MOUNT_READONLY = 64, /* u8: 1 to mount read-only */
	TAG_MOUNT_COPY_UP = 65,  /* u8: 1 for a volume's first use (the image's content is copied in) */
	TAG_MOUNT_OPTIONS = 66,  /* tmpfs only: Docker's comma list (rw/ro, exec/noexec, ..., size=, mode=) */
	/* RUN, EXEC: u64, bit n for capability n; absent: the agent's own set (all) */
	TAG_CAPABILITIES = 70,
	/*
	 * RUN: the machine's own identity, set before anything else, so that clones of one snapshot
	 * (docs/snapshots.md) each become their own machine: eth0's address as "a.b.c.d/prefix", its
	 * default route's gateway, its MAC "xx:xx:xx:xx:xx:xx", and 32 to 512 random bytes from the host
	 * mixed into the kernel's pool (which then reseeds)
	 */
	TAG_NET_ADDRESS = 80,
	TAG_NET_GATEWAY = 81,
	TAG_NET_MAC = 82,
	TAG_RANDOM_SEED = 83,
};

enum error_code {
	ERR_BAD_REQUEST = 1,
	ERR_MOUNT = 2,
	ERR_EXEC = 3,
	ERR_USER = 4,
	ERR_CWD = 5,
	ERR_NOT_FOUND = 6, /* STAT: no such path in the container */
};

enum stream_id {
	STREAM_STDOUT = 1,
	STREAM_STDERR = 2,
};

struct frame_header {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t session;
	uint32_t length;
};

enum frame_check {
	FRAME_OK = 0,
	FRAME_BAD_VERSION = -1,
	FRAME_TOO_LONG = -2,
};

static inline void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void frame_header_encode(uint8_t out[FRAME_HEADER_SIZE], uint8_t type, uint32_t session,
			 uint32_t length);
/* Decodes and checks a header; returns an enum frame_check. */
int frame_header_decode(const uint8_t in[FRAME_HEADER_SIZE], struct frame_header *h);

/* Iterates a record list without copying. */
struct record_iter {
	const uint8_t *data;
	size_t len;
	size_t off;
};

struct record {
	uint16_t tag;
	uint32_t len;
	const uint8_t *value;
};

void record_iter_init(struct record_iter *it, const uint8_t *data, size_t len);
/* 1: *r holds the next record; 0: end of list; -1: truncated list. */
int record_next(struct record_iter *it, struct record *r);

/* A growable byte string, used to build payloads. */
struct bytes {
	uint8_t *data;
	size_t len;
	size_t cap;
};

int bytes_reserve(struct bytes *b, size_t extra);
int bytes_append(struct bytes *b, const void *data, size_t len);
void bytes_free(struct bytes *b);

int record_put(struct bytes *b, uint16_t tag, const void *value, uint32_t len);
int record_put_str(struct bytes *b, uint16_t tag, const char *s);
int record_put_u32(struct bytes *b, uint16_t tag, uint32_t v);
int record_put_u64(struct bytes *b, uint16_t tag, uint64_t v);

#endif
