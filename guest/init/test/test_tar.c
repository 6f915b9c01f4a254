/* Tar headers and pax records (tar_write.c, tar_read.c). */
#include "check.h"
#include "tar.h"

static void entry(struct tar_entry *e, char type, const char *name, const char *link, uint64_t size)
{
	memset(e, 0, sizeof(*e));
	e->type = type;
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->link, sizeof(e->link), "%s", link);
	e->mode = 04755;
	e->uid = 1000;
	e->gid = 2000;
	e->size = size;
	e->mtime = 1700000000;
}

static void test_short_round_trip(void)
{
	struct tar_entry in, out;
	uint8_t blk[TAR_BLOCK];
	entry(&in, TAR_FILE, "etc/hosts", "", 12345);
	CHECK(tar_header_encode(&in, blk) == 0);
	CHECK(memcmp(blk + 257, "ustar", 6) == 0);
	CHECK(tar_header_parse(blk, &out) == TAR_PARSE_OK);
	CHECK(out.type == TAR_FILE);
	CHECK_STR(out.name, "etc/hosts");
	CHECK(out.mode == 04755 && out.uid == 1000 && out.gid == 2000);
	CHECK(out.size == 12345 && out.mtime == 1700000000);

	entry(&in, TAR_DIR, "a/b", "", 99);
	tar_header_encode(&in, blk);
	CHECK(tar_header_parse(blk, &out) == TAR_PARSE_OK);
	CHECK(out.type == TAR_DIR && out.size == 0);
	CHECK_STR(out.name, "a/b/");

	entry(&in, TAR_SYMLINK, "l", "/etc/passwd", 0);
	tar_header_encode(&in, blk);
	CHECK(tar_header_parse(blk, &out) == TAR_PARSE_OK);
	CHECK(out.type == TAR_SYMLINK);
	CHECK_STR(out.link, "/etc/passwd");
}

static void test_bad_and_zero(void)
{
	struct tar_entry in, out;
	uint8_t blk[TAR_BLOCK] = {0};
	CHECK(tar_header_parse(blk, &out) == TAR_PARSE_ZERO);
	entry(&in, TAR_FILE, "x", "", 1);
	tar_header_encode(&in, blk);
	blk[0] ^= 1;
	CHECK(tar_header_parse(blk, &out) == TAR_PARSE_BAD);
}

static void test_long_names_use_pax(void)
{
	struct tar_entry in, out;
	char name[300];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	uint8_t blk[TAR_BLOCK];
	entry(&in, TAR_SYMLINK, name, name, 0);
	CHECK(tar_header_encode(&in, blk) == 1);
	struct bytes pax = {0};
	CHECK(tar_pax_encode(&in, &pax) == 0);
	/* "309 path=nnn...\n": the length counts its own digits. */
	CHECK(pax.len == 309 + 313); /* and "313 linkpath=...\n" */
	CHECK(memcmp(pax.data, "309 path=", 9) == 0);
	struct tar_pax p;
	memset(&p, 0, sizeof(p));
	CHECK(tar_pax_parse((const char *)pax.data, pax.len, &p) == 0);
	CHECK(p.has_path && p.has_link && !p.has_size);
	CHECK(tar_header_parse(blk, &out) == TAR_PARSE_OK);
	tar_pax_apply(&p, &out);
	CHECK_STR(out.name, name);
	CHECK_STR(out.link, name);
	bytes_free(&pax);

	uint8_t head[TAR_BLOCK];
	tar_pax_header(618, head);
	CHECK(tar_header_parse(head, &out) == TAR_PARSE_OK);
	CHECK(out.type == TAR_PAX && out.size == 618);
}

static void test_big_size(void)
{
	struct tar_entry in, out;
	uint8_t blk[TAR_BLOCK];
	entry(&in, TAR_FILE, "big", "", 10ULL << 30);
	CHECK(tar_header_encode(&in, blk) == 1);
	CHECK(tar_header_parse(blk, &out) == TAR_PARSE_OK);
	CHECK(out.size == 10ULL << 30); /* base-256 */
	struct bytes pax = {0};
	CHECK(tar_pax_encode(&in, &pax) == 0);
	struct tar_pax p;
	memset(&p, 0, sizeof(p));
	CHECK(tar_pax_parse((const char *)pax.data, pax.len, &p) == 0 && p.has_size);
	CHECK(p.size == 10ULL << 30);
	bytes_free(&pax);
}

static void test_pax_malformed(void)
{
	struct tar_pax p;
	memset(&p, 0, sizeof(p));
	CHECK(tar_pax_parse("12 path=abc\n", 12, &p) == 0 && p.has_path);
	CHECK_STR(p.path, "abc");
	CHECK(tar_pax_parse("99 path=abc\n", 12, &p) == 1);
	CHECK(tar_pax_parse("12 pathxabc\n", 12, &p) == 1);
	CHECK(tar_pax_parse("x", 1, &p) == 1);
	CHECK(tar_pax_parse("20 comment=abcdefg\n", 19, &p) == 1);
	CHECK(tar_pax_parse("18 comment=abcdef\n", 18, &p) == 0);
}

static void test_prefix_and_old_dirs(void)
{
	struct tar_entry in, out;
	uint8_t blk[TAR_BLOCK];
	entry(&in, TAR_FILE, "name", "", 0);
	tar_header_encode(&in, blk);
	/* A ustar prefix, as other tars write it; recompute the checksum. */
	memcpy(blk + 345, "some/prefix", 11);
	memset(blk + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < TAR_BLOCK; i++)
		sum += blk[i];
	snprintf((char *)blk + 148, 8, "%06o", sum);
	CHECK(tar_header_parse(blk, &out) == TAR_PARSE_OK);
	CHECK_STR(out.name, "some/prefix/name");
}

int main(void)
{
	test_short_round_trip();
	test_bad_and_zero();
	test_long_names_use_pax();
	test_big_size();
	test_pax_malformed();
	test_prefix_and_old_dirs();
	CHECK_DONE();
}
