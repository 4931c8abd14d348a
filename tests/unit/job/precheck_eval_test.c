/*
 * precheck_eval_test.c - the pure evaluations of job/precheck.h: wal_level
 * (the shared cluster cannot change it), server versions, replication
 * rights and slot / wal sender capacity.
 */
#include <string.h>

#include "job/precheck.h"
#include "testlib.h"

int main(void)
{
    struct p2d_precheck_item it;

    p2d_precheck_eval_wal_level("logical", &it);
    T_EQ_INT(it.status, P2D_PRECHECK_PASS);
    T_EQ_STR(it.item, "wal_level");
    static const char *const bad[] = {"replica", "minimal", "", "Logical"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p2d_precheck_eval_wal_level(bad[i], &it);
        T_EQ_INT(it.status, P2D_PRECHECK_FAIL);
        T_HAS_STR(it.hint, "ALTER SYSTEM SET wal_level = logical");
        T_HAS_STR(it.hint, "restart");
    }
    p2d_precheck_eval_wal_level("replica", &it);
    T_HAS_STR(it.finding, "\"replica\"");
    p2d_precheck_eval_wal_level(NULL, &it);
    T_EQ_INT(it.status, P2D_PRECHECK_FAIL);

    static const struct {
        int version;
        enum p2d_precheck_status want;
    } versions[] = {{90624, P2D_PRECHECK_FAIL},
                    {100000, P2D_PRECHECK_PASS},
                    {130011, P2D_PRECHECK_PASS},
                    {170002, P2D_PRECHECK_PASS},
                    {180000, P2D_PRECHECK_FAIL}};
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        p2d_precheck_eval_version(versions[i].version, &it);
        T_EQ_INT(it.status, versions[i].want);
    }

    p2d_precheck_eval_replication("u", true, false, "", &it);
    T_EQ_INT(it.status, P2D_PRECHECK_PASS);
    p2d_precheck_eval_replication("u", false, true, "", &it);
    T_EQ_INT(it.status, P2D_PRECHECK_PASS);
    p2d_precheck_eval_replication("u", false, false, "rds_replication", &it);
    T_EQ_INT(it.status, P2D_PRECHECK_WARN);
    T_HAS_STR(it.finding, "rds_replication");
    p2d_precheck_eval_replication("app", false, false, "", &it);
    T_EQ_INT(it.status, P2D_PRECHECK_FAIL);
    T_HAS_STR(it.hint, "ALTER ROLE \"app\" REPLICATION");

    p2d_precheck_eval_capacity("replication slots", "max_replication_slots", 3, 10, 1, &it);
    T_EQ_INT(it.status, P2D_PRECHECK_PASS);
    T_HAS_STR(it.finding, "7 free");
    p2d_precheck_eval_capacity("replication slots", "max_replication_slots", 9, 10, 1, &it);
    T_EQ_INT(it.status, P2D_PRECHECK_WARN);
    p2d_precheck_eval_capacity("wal senders", "max_wal_senders", 10, 10, 1, &it);
    T_EQ_INT(it.status, P2D_PRECHECK_FAIL);
    T_HAS_STR(it.hint, "max_wal_senders");
    p2d_precheck_eval_capacity("wal senders", "max_wal_senders", 12, 10, 1, &it);
    T_EQ_INT(it.status, P2D_PRECHECK_FAIL);
    T_HAS_STR(it.finding, "0 free");
    T_EQ_STR(p2d_precheck_status_name(P2D_PRECHECK_WARN), "WARN");
    return t_done();
}
