/* The HTTP API's pool of store reader connections (api_pool.h). Owns the
 * connections and who holds them; must not run a query. */
#include "api_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "api_clock.h"
#include "util.h"

struct api_pool {
    pthread_mutex_t mu;
    pthread_cond_t freed;
    store **all, **free_list;
    size_t n, n_free;
};

api_pool *api_pool_open(const char *uri, size_t n, char *err, size_t errlen)
{
    api_pool *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    api_cond_init(&p->freed);
    p->all = xcalloc(n, sizeof *p->all);
    p->free_list = xcalloc(n, sizeof *p->free_list);
    for (; p->n < n; p->n++) {
        store *st = store_open_reader(uri, err, errlen);
        if (!st) {
            p->n_free = p->n;
            api_pool_close(p);
            return NULL;
        }
        p->all[p->n] = p->free_list[p->n] = st;
    }
    p->n_free = n;
    return p;
}

store *api_pool_acquire(api_pool *p, int64_t wait_ms)
{
    struct timespec until = api_deadline(wait_ms * NS_PER_MS);
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    while (p->n_free == 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&p->freed, &p->mu, &until);
    store *st = p->n_free ? p->free_list[--p->n_free] : NULL;
    pthread_mutex_unlock(&p->mu);
    return st;
}

void api_pool_release(api_pool *p, store *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&p->mu);
    p->free_list[p->n_free++] = st;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->mu);
}

void api_pool_close(api_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        store_close(p->all[i]);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->mu);
    free(p->all);
    free(p->free_list);
    free(p);
}
