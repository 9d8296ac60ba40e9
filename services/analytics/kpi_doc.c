/* kpi_doc.c — carebus-analytics --describe: the KPIs as this build has them.
 *
 * kpi.def's table as JSON (names, types, formats, labels, documentation)
 * and the SQL written from it, so that tests compare the documents that
 * cannot be generated (the OpenAPI KpiRow) with the one table, and an
 * operator or reviewer can read the generated SQL.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "analytics.h"
#include "kpi.h"

static const char *const kpi_doc_how[] = {
    [KPI_SUM] = "sum",     [KPI_RATIO] = "ratio",         [KPI_P90] = "p90",
    [KPI_LEVEL] = "level", [KPI_PER_START] = "per_start",
};
static const char *const kpi_doc_format[] = {
    [KPI_FMT_COUNT] = "count",
    [KPI_FMT_PCT] = "pct",
    [KPI_FMT_DEC] = "dec",
    [KPI_FMT_SECONDS] = "seconds",
};

int kpi_doc_print(FILE *out)
{
    json_t *root = json_object(), *kpis = json_array();
    json_object_set_new(root, "kpis", kpis);
    for (int c = 1; c < KPI_NCOLS; c++) {
        const struct kpi_def *k = &kpi_defs[c];
        json_t *groups = json_array();
        json_array_append_new(groups, json_string("day"));
        json_array_append_new(groups, json_string("all"));
        for (int d = 1; d < DIM_COUNT; d++)
            if (kpi_has_group(c, d))
                json_array_append_new(groups, json_string(contrib_dim_names[d]));
        json_array_append_new(
            kpis,
            json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:o, s:{s:s, s:s}, s:s}", "name", k->name,
                      "how", kpi_doc_how[k->how], "format", kpi_doc_format[k->format], "type",
                      kpi_is_count(c) ? "integer" : "number", "nullable", !kpi_is_count(c), "tile",
                      k->tile, "groupings", groups, "label", "vi", k->label[0], "en", k->label[1],
                      "doc", k->doc));
    }
    json_object_set_new(root, "measures", json_string(contrib_measures_text()));
    json_object_set_new(root, "sql",
                        json_pack("{s:s?, s:s?, s:s?, s:s?}", "query", kpi_sql_query(), "view",
                                  kpi_sql_view(), "comments", bidoc_sql(), "apply_daily",
                                  kpi_sql_apply_daily()));
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return -1;
    fprintf(out, "%s\n", text);
    free(text);
    return 0;
}
