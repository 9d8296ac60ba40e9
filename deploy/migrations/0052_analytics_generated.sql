-- The KPI SQL is written from the tables that define the KPIs, never by
-- hand: services/analytics/kpi.def (the KPIs) and contrib.h (the measures of
-- analytics.daily). carebus-analytics writes, at start:
--   * the API's period query, sent as a parameterised statement: the
--     hand-written analytics.kpi_sums() goes;
--   * bi.kpi_daily's definition and its columns' comments, and the bi
--     comments that list the schema's enum values;
--   * analytics.apply_daily(), the live path's additions to the daily sums
--     (named columns, so that a measure's column may come last; 0050's
--     until analytics first starts);
-- and applies those definitions under the migrations' lock whenever their
-- text changes (public.carebus_derived). A new KPI is then its kpi.def line and,
-- when it needs a new measure, a migration adding that column (nothing
-- restated), after which analytics rebuilds the sums once: settings.measures
-- records the measures the sums were computed with.
DROP FUNCTION analytics.kpi_sums(date, date, smallint);

ALTER TABLE analytics.settings ADD COLUMN measures text;
