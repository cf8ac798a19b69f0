/*
 * shim.h
 *	  What the fuzz harnesses see of the backend shim (shim.c): the ERROR
 *	  trap, the per-input memory arena and the last error's text.
 */
#ifndef DATA8_FUZZ_SHIM_H
#define DATA8_FUZZ_SHIM_H

#include <setjmp.h>

/* An ERROR siglongjmps here (set by the harness around each input). */
extern sigjmp_buf *fuzz_error_jmp;

/* The last error raised (valid after the longjmp, until the next input). */
typedef struct FuzzError
{
	int			elevel;
	int			sqlerrcode;
	char		message[1024];
	char		detail[1024];
	char		hint[1024];
} FuzzError;
extern FuzzError fuzz_last_error;

/* Frees every palloc'd chunk still alive (the "memory context reset"). */
extern void fuzz_reset_memory(void);
/* Number of palloc'd chunks alive. */
extern long fuzz_live_chunks(void);

/* Runs the statements; returns 0, or 1 when it raised an ERROR. */
#define FUZZ_TRY(...) \
	({ \
		sigjmp_buf	fuzz_jb_; \
		sigjmp_buf *fuzz_save_ = fuzz_error_jmp; \
		int			fuzz_failed_ = 0; \
		if (sigsetjmp(fuzz_jb_, 0) == 0) \
		{ \
			fuzz_error_jmp = &fuzz_jb_; \
			__VA_ARGS__; \
		} \
		else \
			fuzz_failed_ = 1; \
		fuzz_error_jmp = fuzz_save_; \
		fuzz_failed_; \
	})

#endif							/* DATA8_FUZZ_SHIM_H */
