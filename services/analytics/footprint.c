/* footprint.c — the entities a batch can change (see footprint.h).
 *
 * Trees are found by their roots: one pass over the model's customers
 * collects the members of the roots the batch names, and, when an event
 * moves a segment or a tree, one pass over its tickets collects theirs.
 * Both passes are linear in what the model holds, a few milliseconds for
 * a hundred thousand entities, once per batch (never per event).
 */
#include "footprint.h"

#include <stdlib.h>
#include <string.h>

#include "hmap.h"

/* Arrays held past a batch this many times smaller are given back
 * (footprint_settle); below this size they are always kept. */
#define FOOTPRINT_KEEP 4096

void footprint_init(footprint *f)
{
    memset(f, 0, sizeof *f);
}

void footprint_release(footprint *f)
{
    free(f->tickets);
    free(f->customers);
    free(f->prior);
    free(f->facts);
    footprint_init(f);
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *p = realloc(*v, ncap * size);
    if (!p)
        return -1;
    *v = p;
    *cap = ncap;
    return 0;
}

static int add_ticket(footprint *f, model_ticket *t, uint8_t mark)
{
    if (t->mark) {
        if (mark == FOOTPRINT_TREE)
            t->mark = FOOTPRINT_TREE; /* its tree's segment may move it too */
        return 0;
    }
    if (grow((void **)&f->tickets, &f->capt, f->nt, sizeof *f->tickets) != 0)
        return -1;
    t->mark = mark;
    f->tickets[f->nt++] = t;
    return 0;
}

static int add_customer(footprint *f, model_customer *c)
{
    if (c->mark)
        return 0;
    if (grow((void **)&f->customers, &f->capc, f->nc, sizeof *f->customers) != 0)
        return -1;
    c->mark = FOOTPRINT_EVENT;
    f->customers[f->nc++] = c;
    return 0;
}

/* A set of roots, copied (a merge rewrites roots in place later on). */
struct roots {
    char (*v)[ID_LEN];
    size_t n, cap;
    hmap ix;
};

static int roots_add(struct roots *r, const char *root)
{
    if (hmap_gets(&r->ix, root) != HMAP_ABSENT)
        return 0;
    if (r->n == r->cap) {
        /* The map points into the array: it is rebuilt when the array moves. */
        size_t cap = r->cap ? r->cap * 2 : 16;
        char(*v)[ID_LEN] = realloc(r->v, cap * sizeof *v);
        if (!v)
            return -1;
        r->v = v;
        r->cap = cap;
        hmap_release(&r->ix);
        if (hmap_reserve(&r->ix, cap) != 0)
            return -1;
        for (size_t i = 0; i < r->n; i++)
            hmap_puts(&r->ix, r->v[i], (int)i);
    }
    memcpy(r->v[r->n], root, ID_LEN);
    return hmap_puts(&r->ix, r->v[r->n], (int)r->n) == 0 ? (r->n++, 0) : -1;
}

static bool roots_has(const struct roots *r, const char *root)
{
    return r->n && hmap_gets(&r->ix, root) != HMAP_ABSENT;
}

static void roots_release(struct roots *r)
{
    free(r->v);
    hmap_release(&r->ix);
}

int footprint_before(footprint *f, model *m, const struct model_item *items, size_t n)
{
    f->nt = f->nc = 0;
    model_tickets(m, &f->tickets0);
    model_customers(m, &f->customers0);
    struct roots named = {0}, moved = {0};
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        const struct model_refs *r = &items[i].r;
        const char *tid = r->ticket[0] ? r->ticket : model_survey_ticket(m, r->survey);
        model_ticket *t = tid[0] ? model_ticket_get(m, tid) : NULL;
        if (t && add_ticket(f, t, FOOTPRINT_EVENT) != 0)
            goto out;
        for (int k = 0; k < r->ncustomers; k++) {
            const model_customer *c = model_customer_get(m, r->customers[k]);
            if (!c)
                continue;
            if (roots_add(&named, c->root) != 0)
                goto out;
            if (r->customer_level && roots_add(&moved, c->root) != 0)
                goto out;
        }
    }
    size_t nc, nt;
    model_customer **cs = model_customers(m, &nc);
    for (size_t i = 0; named.n && i < nc; i++)
        if (roots_has(&named, cs[i]->root) && add_customer(f, cs[i]) != 0)
            goto out;
    model_ticket **ts = model_tickets(m, &nt);
    for (size_t i = 0; moved.n && i < nt; i++) {
        const model_customer *c =
            ts[i]->customer[0] ? model_customer_get(m, ts[i]->customer) : NULL;
        if (c && roots_has(&moved, c->root) && add_ticket(f, ts[i], FOOTPRINT_TREE) != 0)
            goto out;
    }
    rc = 0;
out:
    roots_release(&named);
    roots_release(&moved);
    return rc;
}

int footprint_after(footprint *f, model *m)
{
    size_t nt, nc;
    model_ticket **ts = model_tickets(m, &nt);
    model_customer **cs = model_customers(m, &nc);
    for (size_t i = f->tickets0; i < nt; i++)
        if (add_ticket(f, ts[i], FOOTPRINT_EVENT) != 0)
            return -1;
    for (size_t i = f->customers0; i < nc; i++)
        if (add_customer(f, cs[i]) != 0)
            return -1;
    return 0;
}

static int cmp_root(const void *a, const void *b)
{
    const model_customer *x = *(model_customer *const *)a, *y = *(model_customer *const *)b;
    int c = strcmp(x->root, y->root);
    return c ? c : strcmp(x->id, y->id);
}

/* Before the batch: what ticket i's rows hold. */
static void prior_keep(footprint *f, size_t i, int32_t segment, const struct ticket_facts *tf)
{
    struct footprint_prior *p = &f->prior[i];
    p->segment = segment;
    p->nsla = f->tickets[i]->sla.n;
    rows_samples_of(&p->samples, tf);
}

/* After the batch: what of ticket i's rows it changed. */
static void prior_compare(footprint *f, size_t i, int32_t segment, const struct ticket_facts *tf)
{
    model_ticket *t = f->tickets[i];
    if (i >= f->nprior) { /* made by the batch: all of it */
        t->samples_put = (1u << H_COUNT) - 1;
        t->samples_gone = 0;
        t->sla_new = true;
        return;
    }
    const struct footprint_prior *p = &f->prior[i];
    struct rows_samples now;
    unsigned put, gone;
    rows_samples_of(&now, tf);
    rows_samples_diff(&p->samples, &now, &put, &gone);
    t->samples_put = (uint8_t)put;
    t->samples_gone = (uint8_t)gone;
    t->sla_new = t->sla.n != p->nsla;
    /* A tree's ticket the batch did not change keeps its rows when the
     * tree's segment stayed. */
    if (t->mark == FOOTPRINT_TREE && !t->dirty && segment == p->segment)
        t->mark = FOOTPRINT_EVENT;
}

int footprint_contribute(footprint *f, agg *a, timebase *cal, model *m, int sign)
{
    model_resolve_segments(m);
    /* Sized as the tickets' array (which doubles), not to the ticket. */
    if (sign < 0) {
        if (f->nt > f->capprior) {
            struct footprint_prior *p = realloc(f->prior, f->capt * sizeof *p);
            if (!p)
                return -1;
            f->prior = p;
            f->capprior = f->capt;
        }
        f->nprior = f->nt;
    } else if (f->nt > f->capfacts) {
        struct ticket_facts *p = realloc(f->facts, f->capt * sizeof *p);
        if (!p)
            return -1;
        f->facts = p;
        f->capfacts = f->capt;
    }
    for (size_t i = 0; i < f->nt; i++) {
        struct ticket_facts tf;
        model_ticket *t = f->tickets[i];
        int32_t segment = model_segment_of(m, t->customer);
        contrib_facts(cal, t, segment, &tf);
        if (contrib_ticket(a, cal, t, &tf, sign) != 0)
            return -1;
        if (sign < 0)
            prior_keep(f, i, segment, &tf);
        else {
            prior_compare(f, i, segment, &tf);
            f->facts[i] = tf;
        }
    }
    /* Trees: the footprint's customers grouped by root (whole trees, so
     * every group is a tree); a tree counts through its root. */
    model_customer **sorted = malloc((f->nc ? f->nc : 1) * sizeof *sorted);
    if (!sorted)
        return -1;
    if (f->nc) {
        memcpy(sorted, f->customers, f->nc * sizeof *sorted);
        qsort(sorted, f->nc, sizeof *sorted, cmp_root);
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < f->nc;) {
        size_t j = i;
        while (j < f->nc && strcmp(sorted[j]->root, sorted[i]->root) == 0)
            j++;
        if (model_customer_get(m, sorted[i]->root))
            rc = contrib_customer(a, cal, &sorted[i], j - i, model_segment_of(m, sorted[i]->root),
                                  sign);
        i = j;
    }
    free(sorted);
    return rc;
}

bool footprint_ticket_changed(const model_ticket *t)
{
    return t->dirty || t->mark == FOOTPRINT_TREE;
}

void footprint_settle(footprint *f)
{
    for (size_t i = 0; i < f->nt; i++) {
        model_ticket *t = f->tickets[i];
        t->mark = 0;
        t->dirty = t->is_new = t->sla_new = false;
        t->samples_put = t->samples_gone = 0;
    }
    for (size_t i = 0; i < f->nc; i++) {
        model_customer *c = f->customers[i];
        if (c->is_new)
            c->all_tickets = true;
        c->mark = 0;
        c->dirty = c->is_new = false;
    }
    size_t used = f->nt > f->nc ? f->nt : f->nc;
    f->nt = f->nc = f->nprior = 0;
    /* A catch-up's rounds keep the arrays they fill; a trickle of small
     * batches after one does not hold their high-water mark. */
    size_t keep = 4 * (used > FOOTPRINT_KEEP ? used : FOOTPRINT_KEEP);
    if (f->capt > keep || f->capc > keep)
        footprint_release(f);
}
