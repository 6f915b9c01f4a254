/*
 * The RUN request: what to run and how, decoded from its record list.
 */
#ifndef HEARTH_RUN_H
#define HEARTH_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "mount_list.h"

/* Linux's limit (HOST_NAME_MAX); longer names are refused when RUN is parsed. */
#define HOSTNAME_MAX 64

struct run_request {
	char **argv; /* NULL-terminated */
	size_t argc;
	char **envp; /* NULL-terminated; room for two more entries (HOME, TERM) */
	size_t envc;
	char *cwd;         /* default "/" */
	char *user;        /* default "0" */
	char *hostname;    /* NULL: leave as the kernel set it */
	char *hosts;       /* NULL: leave the image's /etc/hosts */
	size_t hosts_len;
	char *resolv_conf; /* NULL: leave the image's /etc/resolv.conf */
	size_t resolv_conf_len;
	char *rootfs_type; /* "ext4" (default) or "erofs" */
	uint64_t clock_ns; /* host time when sent, ns since the epoch; 0: keep the guest's clock */
	int tty;           /* TTY: a pseudo-terminal for stdin, stdout and stderr (TERM added if absent) */
	int stdin_open;    /* STDIN: stdin fed by the host (a pipe, or the pty); else /dev/null */
	uint16_t rows;     /* ROWS, COLS: the initial window size; 0: the default */
	uint16_t cols;
	uint64_t memory_max; /* MEMORY_MAX: the container cgroup's memory.max in bytes; 0: no limit */
	int has_capabilities;  /* CAPABILITIES given; else the process keeps the agent's own (all) */
	uint64_t capabilities; /* CAPABILITIES: bit n for capability n (caps.h) */
	struct mount_list *mounts; /* MOUNT (RUN only): NULL when there is none */
	char *net_address;         /* NET_ADDRESS (RUN only): NULL leaves eth0 as it is */
	char *net_gateway;         /* NET_GATEWAY */
	char *net_mac;             /* NET_MAC */
	char *random_seed;         /* RANDOM_SEED: NULL when absent */
	size_t random_seed_len;
};

/* With a tty and no TERM in the environment, TERM is this (as Docker's `-t`). */
#define DEFAULT_TERM "TERM=xterm"

/* 0 on success; 1 with a message in err on a bad request. */
int run_request_parse(const uint8_t *payload, size_t len, struct run_request *r, char *err,
		      size_t errlen);
/* The same for a request named what ("RUN", "EXEC") in messages; RUN-only tags are kept too. */
int request_parse(const uint8_t *payload, size_t len, const char *what, struct run_request *r,
		  char *err, size_t errlen);
void run_request_free(struct run_request *r);
/* The value of KEY in a NULL-terminated environment, or NULL. */
const char *env_lookup(char *const *envp, const char *key);

#endif
