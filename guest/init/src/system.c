#include "system.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int system_lo_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		PRINT_WARN("socket for lo: %s", strerror(errno));
		return 1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	int rc = 0;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
		PRINT_WARN("SIOCGIFFLAGS lo: %s", strerror(errno));
		rc = 1;
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) {
			PRINT_WARN("SIOCSIFFLAGS lo up: %s", strerror(errno));
			rc = 1;
		} else {
			PRINT_DEBUG("brought lo up");
		}
	}
	close(fd);
	return rc;
}

int system_set_hostname(const char *name)
{
	if (sethostname(name, strlen(name)) != 0) {
		PRINT_ERROR("sethostname %s: %s", name, strerror(errno));
		return 1;
	}
	return 0;
}

int system_write_etc(const char *root, const char *name, const char *data, size_t len, char *err,
		     size_t errlen)
{
	int rootfd = -1, etcfd = -1, fd = -1, rc = 1;

	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		snprintf(err, errlen, "open %s: %s", root, strerror(errno));
		goto out;
	}
	if (mkdirat(rootfd, "etc", 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s/etc: %s", root, strerror(errno));
		goto out;
	}
	etcfd = openat(rootfd, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (etcfd < 0) {
		snprintf(err, errlen, "open %s/etc: %s", root, strerror(errno));
		goto out;
	}
	struct stat st;
	if (fstatat(etcfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) &&
	    unlinkat(etcfd, name, 0) != 0) {
		snprintf(err, errlen, "replace %s/etc/%s: %s", root, name, strerror(errno));
		goto out;
	}
	fd = openat(etcfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "open %s/etc/%s: %s", root, name, strerror(errno));
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "write %s/etc/%s: %s", root, name, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (etcfd >= 0)
		close(etcfd);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}

int system_fill_machine_id(const char *root, char *err, size_t errlen)
{
	/* As system_write_etc: nothing of the image's is followed out of its root. */
	struct stat st;
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int etcfd = rootfd < 0 ? -1 : openat(rootfd, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int empty = etcfd >= 0 && fstatat(etcfd, "machine-id", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_size == 0;
	if (etcfd >= 0)
		close(etcfd);
	if (rootfd >= 0)
		close(rootfd);
	if (!empty)
		return 0;
	unsigned char id[16];
	if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
		snprintf(err, errlen, "a random machine id: %s", strerror(errno));
		return 1;
	}
	char line[2 * sizeof(id) + 2];
	for (size_t i = 0; i < sizeof(id); i++)
		snprintf(line + 2 * i, 3, "%02x", id[i]);
	line[2 * sizeof(id)] = '\n';
	return system_write_etc(root, "machine-id", line, 2 * sizeof(id) + 1, err, errlen);
}
