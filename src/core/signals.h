/* Signal names and numbers. */
#ifndef ISOLA_SIGNALS_H
#define ISOLA_SIGNALS_H

/* Parses "KILL", "SIGKILL", "kill", "9", "RTMIN+1"; -1 when unknown or out of range. */
int signal_parse(const char *s);

#endif
