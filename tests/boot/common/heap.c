// SPDX-License-Identifier: MIT
/*
 * Kernel heap: power-of-two size classes (16 B .. 1 MiB) carved from the
 * heap region [HEAP_START, POOL_END) by a bump pointer, freed blocks kept on
 * per-class lists. Blocks are aligned to min(class size, 4 KiB). Memory is
 * "VTL1": the ownership op refuses it. One spinlock (any CPU, any context).
 */
#include "kernel.h"

#define MIN_SHIFT 4
#define MAX_SHIFT 20

struct free_block {
	struct free_block *next;
};

static struct free_block *lists[MAX_SHIFT + 1];
static uintptr_t bump, bump_end;
static struct spinlock heap_lock;

void heap_init(void)
{
	bump = (uintptr_t)phys_to_virt(HEAP_START);
	bump_end = (uintptr_t)phys_to_virt(POOL_END);
}

static int class_of(size_t size)
{
	int s = MIN_SHIFT;

	while (s <= MAX_SHIFT && ((size_t)1 << s) < size)
		s++;
	return s <= MAX_SHIFT ? s : -1;
}

static void *kmalloc_locked(int c)
{
	uintptr_t align, p;
	struct free_block *b;

	b = lists[c];
	if (b) {
		lists[c] = b->next;
		return b;
	}
	align = c < 12 ? ((uintptr_t)1 << c) : PAGE_SIZE;
	p = (bump + align - 1) & ~(align - 1);
	if (p + ((uintptr_t)1 << c) > bump_end)
		return NULL;
	bump = p + ((uintptr_t)1 << c);
	return (void *)p;
}

void *kmalloc(size_t size)
{
	int c = class_of(size ? size : 1);
	unsigned long flags;
	void *p;

	if (c < 0)
		return NULL;
	flags = spin_lock_irqsave(&heap_lock);
	p = kmalloc_locked(c);
	spin_unlock_irqrestore(&heap_lock, flags);
	return p;
}

void kfree(void *p, size_t size)
{
	struct free_block *b = p;
	int c = class_of(size ? size : 1);
	unsigned long flags;

	if (!p)
		return;
	flags = spin_lock_irqsave(&heap_lock);
	if (c < 0 || (uintptr_t)p < (uintptr_t)phys_to_virt(HEAP_START) ||
	    (uintptr_t)p >= bump) {
		spin_unlock_irqrestore(&heap_lock, flags);
		panic("kfree(%p, %zu): not a heap block", p, size);
	}
	b->next = lists[c];
	lists[c] = b;
	spin_unlock_irqrestore(&heap_lock, flags);
}
