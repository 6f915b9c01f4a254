#include "netconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int netconf_parse(const char *address, const char *gateway, const char *mac, struct netconf *out,
		  char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	strcpy(out->name, "eth0");
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(address, '/');
	char *end = NULL;
	long prefix = slash ? strtol(slash + 1, &end, 10) : -1;
	size_t iplen = slash ? (size_t)(slash - address) : 0;
	if (slash == NULL || iplen >= sizeof(ip) || end == slash + 1 || *end != '\0' || prefix < 0 ||
	    prefix > 32) {
		snprintf(err, errlen, "RUN: NET_ADDRESS \"%s\" is not a.b.c.d/prefix", address);
		return 1;
	}
	memcpy(ip, address, iplen);
	ip[iplen] = '\0';
	if (inet_pton(AF_INET, ip, &out->address) != 1) {
		snprintf(err, errlen, "RUN: NET_ADDRESS \"%s\" is not an IPv4 address", address);
		return 1;
	}
	out->netmask = htonl(prefix == 0 ? 0 : 0xffffffffu << (32 - prefix));
	if (gateway != NULL && inet_pton(AF_INET, gateway, &out->gateway) != 1) {
		snprintf(err, errlen, "RUN: NET_GATEWAY \"%s\" is not an IPv4 address", gateway);
		return 1;
	}
	unsigned int b[6];
	char extra;
	if (mac == NULL || sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
				  &b[5], &extra) != 6) {
		snprintf(err, errlen, "RUN: NET_MAC \"%s\" is not xx:xx:xx:xx:xx:xx", mac ? mac : "");
		return 1;
	}
	for (int i = 0; i < 6; i++)
		out->mac[i] = (unsigned char)b[i];
	return 0;
}

static void set_in(struct sockaddr *sa, unsigned int address)
{
	struct sockaddr_in *in = (struct sockaddr_in *)sa;
	memset(in, 0, sizeof(*in));
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = address;
}

static int fail(int fd, char *err, size_t errlen, const char *what, const char *name)
{
	snprintf(err, errlen, "%s %s: %s", what, name, strerror(errno));
	close(fd);
	return 1;
}

int netconf_apply(const struct netconf *n, char *err, size_t errlen)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return 1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, n->name);
	/* The MAC first, while the interface is down: the device takes it (virtio-net tells the VMM). */
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, n->mac, 6);
	if (ioctl(fd, SIOCSIFHWADDR, &ifr) != 0)
		return fail(fd, err, errlen, "setting the MAC of", n->name);
	set_in(&ifr.ifr_addr, n->address);
	if (ioctl(fd, SIOCSIFADDR, &ifr) != 0)
		return fail(fd, err, errlen, "setting the address of", n->name);
	set_in(&ifr.ifr_netmask, n->netmask);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) != 0)
		return fail(fd, err, errlen, "setting the netmask of", n->name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		return fail(fd, err, errlen, "reading the flags of", n->name);
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
		return fail(fd, err, errlen, "bringing up", n->name);
	if (n->gateway != 0) {
		struct rtentry route;
		memset(&route, 0, sizeof(route));
		set_in(&route.rt_dst, 0);
		set_in(&route.rt_genmask, 0);
		set_in(&route.rt_gateway, n->gateway);
		route.rt_flags = RTF_UP | RTF_GATEWAY;
		route.rt_dev = (char *)n->name;
		if (ioctl(fd, SIOCADDRT, &route) != 0 && errno != EEXIST)
			return fail(fd, err, errlen, "adding the default route through", n->name);
	}
	close(fd);
	return 0;
}

/* <linux/random.h>, which musl does not ship. */
#define RNDADDENTROPY _IOW('R', 0x03, int[2])
#define RNDRESEEDCRNG _IO('R', 0x07)

int netconf_reseed_random(const void *seed, size_t len, char *err, size_t errlen)
{
	struct {
		int entropy_count; /* bits credited */
		int buf_size;
		unsigned char bytes[512];
	} entropy;
	if (len > sizeof(entropy.bytes))
		len = sizeof(entropy.bytes);
	entropy.entropy_count = (int)(len * 8);
	entropy.buf_size = (int)len;
	memcpy(entropy.bytes, seed, len);
	int fd = open("/dev/random", O_WRONLY | O_CLOEXEC);
	int rc = fd < 0 || ioctl(fd, RNDADDENTROPY, &entropy) != 0 || ioctl(fd, RNDRESEEDCRNG) != 0;
	if (rc)
		snprintf(err, errlen, "reseeding the kernel's random pool: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	memset(&entropy, 0, sizeof(entropy));
	return rc;
}
