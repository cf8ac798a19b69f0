/*
 * dataset.h
 *	  What other modules use of the Dataset routes (dataset.c).
 */
#ifndef DATA8_DATASET_H
#define DATA8_DATASET_H

#include "postgres.h"

extern void d8_dataset_complete(const char *name, const char *object, int64 count);

#endif							/* DATA8_DATASET_H */
