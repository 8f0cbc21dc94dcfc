/*
 * Unit tests for config_ini_get (core/config.c): the AWS shared credentials
 * file as botocore reads it (configparser: exact section names, keys
 * without case, '=' or ':', whole-line comments, indented lines are
 * continuations of the value before, values kept as written).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/config.h"

static const char creds[] =
    "\xef\xbb\xbf# AWS credentials\n"
    "[default]\n"
    "aws_access_key_id = AKIADEFAULT\n"
    "aws_secret_access_key = s3cr3t/default+x\n"
    "\n"
    "[Dev]\n"
    "AWS_Access_Key_Id: AKIADEV\r\n"
    "aws_secret_access_key=devsecret\n"
    "; a comment\n"
    "s3 =\n"
    "  aws_session_token = nested-not-ours\n"
    "[prod ]\n"
    "aws_access_key_id = AKIAPROD\n";

static void
check(const char *section, const char *key, const char *want, int want_section)
{
	int has = -1;
	char *v = config_ini_get(creds, section, key, &has);

	if (want == NULL)
		assert_null(v);
	else {
		assert_non_null(v);
		assert_string_equal(v, want);
	}
	assert_int_equal(has, want_section);
	free(v);
}

static void
test_ini_sections_and_keys(void **state)
{
	(void)state;
	check("default", "aws_access_key_id", "AKIADEFAULT", 1);
	check("default", "aws_secret_access_key", "s3cr3t/default+x", 1);
	check("Dev", "aws_access_key_id", "AKIADEV", 1);	/* key case, ':' */
	check("Dev", "aws_secret_access_key", "devsecret", 1);
	check("dev", "aws_access_key_id", NULL, 0);	/* section names are exact */
	check("Dev", "aws_session_token", NULL, 1);	/* an indented line is not a key */
	check("prod ", "aws_access_key_id", "AKIAPROD", 1);
	check("prod", "aws_access_key_id", NULL, 0);
	check("missing", "aws_access_key_id", NULL, 0);
	check("default", "aws_session_token", NULL, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ini_sections_and_keys),
	};

	return cmocka_run_group_tests_name("ini", tests, NULL, NULL);
}
