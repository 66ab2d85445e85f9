/*
 * loyalty_worker.c
 *		Delivers pg_loyalty's outbox (loyalty.notification) through a
 *		configured command.
 *
 *	loyalty_worker -d CONNINFO -c COMMAND [-b BATCH] [-m MAX_ATTEMPTS]
 *	               [-l LEASE_SECONDS] [-p PROGRAM] [-i IDLE_SECONDS] [-1]
 *
 * The worker LISTENs on loyalty_notification, claims due messages with
 * loyalty.claim_notifications() (FOR UPDATE SKIP LOCKED, committed at once,
 * so each message belongs to one worker for the lease), and runs COMMAND
 * through /bin/sh for each one with the body on standard input and
 *	LOYALTY_MESSAGE_ID, LOYALTY_MEMBER_ID, LOYALTY_CHANNEL, LOYALTY_RECIPIENT,
 *	LOYALTY_SUBJECT, LOYALTY_KIND, LOYALTY_ATTEMPT
 * in its environment.  Exit status 0 marks the message delivered
 * (loyalty.notification_delivered); anything else records a failure
 * (loyalty.notification_failed) that is retried after an exponential
 * back-off until MAX_ATTEMPTS, then marked failed.
 *
 * Delivery is at least once: a worker that dies after the command succeeded
 * but before recording it leaves the message 'sending'; when the lease runs
 * out another worker sends it again.  The gateway sees the same
 * LOYALTY_MESSAGE_ID both times and must use it as its idempotency key, so a
 * message id is never delivered twice.  Two workers never hold the same
 * message at once (SKIP LOCKED and the lease), provided the command finishes
 * within the lease.
 *
 * With -1 the worker delivers what is due and exits (for cron or tests).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libpq-fe.h"

static volatile sig_atomic_t stop_requested = 0;

/* SIGTERM/SIGINT: finish the current message, then exit */
static void
HandleStop(int signo)
{
	(void) signo;
	stop_requested = 1;
}

/* Print a message and exit */
static void
Die(PGconn *conn, const char *what)
{
	fprintf(stderr, "loyalty_worker: %s: %s\n", what, conn ? PQerrorMessage(conn) : "");
	if (conn)
		PQfinish(conn);
	exit(1);
}

/* Run a statement that returns nothing interesting */
static void
Exec(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		Die(conn, sql);
	PQclear(res);
}

/* Run the delivery command for one message; returns its exit status (or -1) */
static int
RunCommand(const char *command, PGresult *res, int row)
{
	int			pipefd[2];
	pid_t		pid;
	int			status;
	const char *body = PQgetvalue(res, row, 5);
	size_t		len = strlen(body);
	size_t		off = 0;

	if (pipe(pipefd) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
	{
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0)
	{
		dup2(pipefd[0], STDIN_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		setenv("LOYALTY_MEMBER_ID", PQgetvalue(res, row, 0), 1);
		setenv("LOYALTY_MESSAGE_ID", PQgetvalue(res, row, 1), 1);
		setenv("LOYALTY_CHANNEL", PQgetvalue(res, row, 2), 1);
		setenv("LOYALTY_RECIPIENT", PQgetvalue(res, row, 3), 1);
		setenv("LOYALTY_SUBJECT", PQgetvalue(res, row, 4), 1);
		setenv("LOYALTY_KIND", PQgetvalue(res, row, 6), 1);
		setenv("LOYALTY_ATTEMPT", PQgetvalue(res, row, 7), 1);
		execl("/bin/sh", "sh", "-c", command, (char *) NULL);
		_exit(127);
	}
	close(pipefd[0]);
	signal(SIGPIPE, SIG_IGN);
	while (off < len)
	{
		ssize_t		n = write(pipefd[1], body + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t) n;
	}
	close(pipefd[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Record what happened to one message */
static void
Record(PGconn *conn, PGresult *claimed, int row, int rc, const char *max_attempts)
{
	char		error[64];
	const char *params[4];
	PGresult   *res;

	params[0] = PQgetvalue(claimed, row, 0);
	params[1] = PQgetvalue(claimed, row, 1);
	if (rc == 0)
		res = PQexecParams(conn, "SELECT loyalty.notification_delivered($1, $2)",
						   2, NULL, params, NULL, NULL, 0);
	else
	{
		snprintf(error, sizeof(error), "command exited with status %d", rc);
		params[2] = error;
		params[3] = max_attempts;
		res = PQexecParams(conn, "SELECT loyalty.notification_failed($1, $2, $3, $4::integer)",
						   4, NULL, params, NULL, NULL, 0);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		Die(conn, "recording a delivery");
	PQclear(res);
}

/* Claim and deliver one batch; returns how many messages were claimed */
static int
DeliverBatch(PGconn *conn, const char *command, const char *batch, const char *lease,
			 const char *program, const char *max_attempts)
{
	const char *params[3] = {batch, lease, program};
	PGresult   *res;
	int			n;
	int			i;

	res = PQexecParams(conn,
					   "SELECT member_id, message_id, channel, recipient, coalesce(subject, ''), body, kind, attempts"
					   " FROM loyalty.claim_notifications($1::integer, make_interval(secs => $2::integer), $3)",
					   3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		Die(conn, "claiming messages");
	n = PQntuples(res);
	for (i = 0; i < n; i++)
	{
		int			rc = RunCommand(command, res, i);

		Record(conn, res, i, rc, max_attempts);
		fprintf(stderr, "loyalty_worker: message %s to %s: %s\n", PQgetvalue(res, i, 1),
				PQgetvalue(res, i, 3), rc == 0 ? "delivered" : "failed");
		if (stop_requested)
			break;
	}
	PQclear(res);
	return n;
}

/* Sleep until a NOTIFY arrives or the idle time passes */
static void
WaitForWork(PGconn *conn, int idle_seconds)
{
	int			sock = PQsocket(conn);
	fd_set		mask;
	struct timeval tv;
	PGnotify   *note;

	FD_ZERO(&mask);
	FD_SET(sock, &mask);
	tv.tv_sec = idle_seconds;
	tv.tv_usec = 0;
	if (select(sock + 1, &mask, NULL, NULL, &tv) < 0 && errno != EINTR)
		Die(NULL, "select failed");
	if (!PQconsumeInput(conn))
		Die(conn, "reading notifications");
	while ((note = PQnotifies(conn)) != NULL)
		PQfreemem(note);
}

/* Usage text */
static void
Usage(void)
{
	fprintf(stderr,
			"usage: loyalty_worker -d CONNINFO -c COMMAND [-b BATCH] [-m MAX_ATTEMPTS]\n"
			"                      [-l LEASE_SECONDS] [-p PROGRAM] [-i IDLE_SECONDS] [-1]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *conninfo = NULL;
	const char *command = NULL;
	const char *batch = "20";
	const char *max_attempts = "5";
	const char *lease = "300";
	const char *program = NULL;
	int			idle_seconds = 30;
	int			once = 0;
	int			opt;
	PGconn	   *conn;

	while ((opt = getopt(argc, argv, "d:c:b:m:l:p:i:1")) != -1)
	{
		switch (opt)
		{
			case 'd': conninfo = optarg; break;
			case 'c': command = optarg; break;
			case 'b': batch = optarg; break;
			case 'm': max_attempts = optarg; break;
			case 'l': lease = optarg; break;
			case 'p': program = optarg; break;
			case 'i': idle_seconds = atoi(optarg); break;
			case '1': once = 1; break;
			default: Usage();
		}
	}
	if (conninfo == NULL || command == NULL || idle_seconds <= 0)
		Usage();
	signal(SIGTERM, HandleStop);
	signal(SIGINT, HandleStop);

	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK)
		Die(conn, "connecting");
	Exec(conn, "SET application_name = 'loyalty_worker'");
	Exec(conn, "LISTEN loyalty_notification");

	while (!stop_requested)
	{
		int			claimed = DeliverBatch(conn, command, batch, lease, program, max_attempts);

		if (once && claimed == 0)
			break;
		/* a full batch: there may be more at once */
		if (claimed >= atoi(batch))
			continue;
		if (once)
			continue;
		WaitForWork(conn, idle_seconds);
	}
	PQfinish(conn);
	return 0;
}
