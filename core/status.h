/*
 * Status codes.  Every function below main() that can fail returns one of
 * these, and main() exits with it, so a status is also the documented exit
 * code (README "Exit codes").
 */
#ifndef DNS01_STATUS_H
#define DNS01_STATUS_H

enum status {
	ST_OK = 0,		/* done */
	ST_FAIL = 1,		/* declined, or a failure not listed below */
	ST_USAGE = 2,		/* usage error or invalid input; nothing sent */
	ST_CONFIG = 3,		/* configuration or credentials problem */
	ST_PROVIDER = 4,	/* the provider refused or failed the change */
	ST_TIMEOUT = 5,		/* not propagated before the timeout */
	ST_DISCOVERY = 6	/* DNS discovery failed */
};

#endif
