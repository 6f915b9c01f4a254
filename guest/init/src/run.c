#include "run.h"

#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_value(const struct record *r)
{
	char *s = malloc((size_t)r->len + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, r->value, r->len);
	s[r->len] = '\0';
	return s;
}

static int is_string(const struct record *r)
{
	return memchr(r->value, '\0', r->len) == NULL;
}

static const char *tag_name(uint16_t tag)
{
	switch (tag) {
	case TAG_ARG: return "ARG";
	case TAG_ENV: return "ENV";
	case TAG_CWD: return "CWD";
	case TAG_USER: return "USER";
	case TAG_HOSTNAME: return "HOSTNAME";
	case TAG_ROOTFS_TYPE: return "ROOTFS_TYPE";
	default: return "record";
	}
}

/* Replaces *slot with a copy of the record (a repeated single tag: the last wins). */
static int set_string(char **slot, const struct record *r)
{
	char *s = dup_value(r);
	if (s == NULL)
		return -1;
	free(*slot);
	*slot = s;
	return 0;
}

/* Fills an absent or empty single value with its default. */
static int set_default(char **slot, const char *value)
{
	if (*slot != NULL && (*slot)[0] != '\0')
		return 0;
	free(*slot);
	*slot = strdup(value);
	return *slot == NULL ? -1 : 0;
}

/* Adds TERM=xterm unless the environment has a TERM (envp has room for it). */
static int add_term(struct run_request *r)
{
	if (env_lookup(r->envp, "TERM") != NULL)
		return 0;
	char *entry = strdup(DEFAULT_TERM);
	if (entry == NULL)
		return -1;
	r->envp[r->envc++] = entry;
	r->envp[r->envc] = NULL;
	return 0;
}

/* TTY, STDIN (u8 flags), ROWS, COLS (u16): 0, or 1 when the length is wrong. */
static int set_stdio(struct run_request *r, const struct record *rec)
{
	switch (rec->tag) {
	case TAG_TTY:
		if (rec->len != 1)
			return 1;
		r->tty = rec->value[0] != 0;
		return 0;
	case TAG_STDIN:
		if (rec->len != 1)
			return 1;
		r->stdin_open = rec->value[0] != 0;
		return 0;
	case TAG_ROWS:
	case TAG_COLS:
		if (rec->len != 2)
			return 1;
		*(rec->tag == TAG_ROWS ? &r->rows : &r->cols) = get_u16(rec->value);
		return 0;
	default:
		return 0;
	}
}

int request_parse(const uint8_t *payload, size_t len, const char *what, struct run_request *r,
		  char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	struct record_iter it;
	struct record rec;
	size_t nargs = 0, nenv = 0;
	int rc;

	/* First pass: count list entries and check the encoding. */
	record_iter_init(&it, payload, len);
	while ((rc = record_next(&it, &rec)) == 1) {
		if (rec.tag == TAG_ARG)
			nargs++;
		else if (rec.tag == TAG_ENV)
			nenv++;
		if (rec.tag >= TAG_ARG && rec.tag <= TAG_ROOTFS_TYPE && rec.tag != TAG_HOSTS &&
		    rec.tag != TAG_RESOLV_CONF && !is_string(&rec)) {
			snprintf(err, errlen, "%s: %s contains a NUL byte", what, tag_name(rec.tag));
			return 1;
		}
		if (rec.tag == TAG_ENV && memchr(rec.value, '=', rec.len) == NULL) {
			snprintf(err, errlen, "%s: ENV entry without '='", what);
			return 1;
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: truncated record list", what);
		return 1;
	}
	if (nargs == 0) {
		snprintf(err, errlen, "%s: no command specified", what);
		return 1;
	}

	r->argv = calloc(nargs + 1, sizeof(char *));
	r->envp = calloc(nenv + 3, sizeof(char *)); /* room for HOME and TERM */
	if (r->argv == NULL || r->envp == NULL)
		goto nomem;

	record_iter_init(&it, payload, len);
	while (record_next(&it, &rec) == 1) {
		int bad = 0;
		switch (rec.tag) {
		case TAG_ARG:
			bad = (r->argv[r->argc] = dup_value(&rec)) == NULL;
			r->argc += !bad;
			break;
		case TAG_ENV:
			bad = (r->envp[r->envc] = dup_value(&rec)) == NULL;
			r->envc += !bad;
			break;
		case TAG_CWD: bad = set_string(&r->cwd, &rec); break;
		case TAG_USER: bad = set_string(&r->user, &rec); break;
		case TAG_HOSTNAME: bad = set_string(&r->hostname, &rec); break;
		case TAG_ROOTFS_TYPE: bad = set_string(&r->rootfs_type, &rec); break;
		case TAG_HOSTS:
			bad = set_string(&r->hosts, &rec);
			r->hosts_len = rec.len;
			break;
		case TAG_RESOLV_CONF:
			bad = set_string(&r->resolv_conf, &rec);
			r->resolv_conf_len = rec.len;
			break;
		case TAG_MOUNT:
			if (r->mounts == NULL && (r->mounts = calloc(1, sizeof(*r->mounts))) == NULL)
				goto nomem;
			if (mount_list_add(r->mounts, rec.value, rec.len, err, errlen) != 0)
				goto fail;
			break;
		case TAG_NET_ADDRESS: bad = set_string(&r->net_address, &rec); break;
		case TAG_NET_GATEWAY: bad = set_string(&r->net_gateway, &rec); break;
		case TAG_NET_MAC: bad = set_string(&r->net_mac, &rec); break;
		case TAG_RANDOM_SEED:
			if (rec.len < 32 || rec.len > 512) {
				snprintf(err, errlen, "%s: RANDOM_SEED has a bad length (%u)", what, rec.len);
				goto fail;
			}
			bad = set_string(&r->random_seed, &rec);
			r->random_seed_len = rec.len;
			break;
		case TAG_CLOCK:
			if (rec.len == 8)
				r->clock_ns = get_u64(rec.value);
			break;
		case TAG_MEMORY_MAX:
			if (rec.len != 8) {
				snprintf(err, errlen, "%s: MEMORY_MAX has a bad length (%u)", what, rec.len);
				goto fail;
			}
			r->memory_max = get_u64(rec.value);
			break;
		case TAG_CAPABILITIES:
			if (rec.len != 8) {
				snprintf(err, errlen, "%s: CAPABILITIES has a bad length (%u)", what, rec.len);
				goto fail;
			}
			r->has_capabilities = 1;
			r->capabilities = get_u64(rec.value);
			break;
		case TAG_TTY:
		case TAG_STDIN:
		case TAG_ROWS:
		case TAG_COLS:
			if (set_stdio(r, &rec) != 0) {
				snprintf(err, errlen, "%s: record %u has a bad length (%u)", what, rec.tag,
					 rec.len);
				goto fail;
			}
			break;
		default:
			break; /* unknown tags are ignored */
		}
		if (bad)
			goto nomem;
	}

	if (r->argv[0][0] == '\0') {
		snprintf(err, errlen, "%s: empty command", what);
		goto fail;
	}
	if (set_default(&r->cwd, "/") != 0 || set_default(&r->user, "0") != 0 ||
	    set_default(&r->rootfs_type, "ext4") != 0 || (r->tty && add_term(r) != 0))
		goto nomem;
	if (r->hostname != NULL && strlen(r->hostname) > HOSTNAME_MAX) {
		snprintf(err, errlen, "%s: HOSTNAME is longer than %d characters", what, HOSTNAME_MAX);
		goto fail;
	}
	if (strcmp(r->rootfs_type, "ext4") != 0 && strcmp(r->rootfs_type, "erofs") != 0) {
		snprintf(err, errlen, "%s: unsupported ROOTFS_TYPE \"%s\"", what, r->rootfs_type);
		goto fail;
	}
	return 0;

nomem:
	snprintf(err, errlen, "%s: out of memory", what);
fail:
	run_request_free(r);
	return 1;
}

int run_request_parse(const uint8_t *payload, size_t len, struct run_request *r, char *err,
		      size_t errlen)
{
	return request_parse(payload, len, "RUN", r, err, errlen);
}

void run_request_free(struct run_request *r)
{
	for (size_t i = 0; r->argv != NULL && i < r->argc; i++)
		free(r->argv[i]);
	for (size_t i = 0; r->envp != NULL && r->envp[i] != NULL; i++)
		free(r->envp[i]);
	free(r->argv);
	free(r->envp);
	free(r->cwd);
	free(r->user);
	free(r->hostname);
	free(r->hosts);
	free(r->resolv_conf);
	free(r->rootfs_type);
	free(r->net_address);
	free(r->net_gateway);
	free(r->net_mac);
	free(r->random_seed);
	if (r->mounts != NULL)
		mount_list_free(r->mounts);
	free(r->mounts);
	memset(r, 0, sizeof(*r));
}

const char *env_lookup(char *const *envp, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; envp[i] != NULL; i++)
		if (strncmp(envp[i], key, klen) == 0 && envp[i][klen] == '=')
			return envp[i] + klen + 1; /* the first one, as getenv finds */
	return NULL;
}
