-- The live path writes a stored ticket's row again each batch that changes
-- it (services/analytics/stage.c): its state and counts, never its key,
-- customer or creation day, the columns its indexes hold. With room left on
-- each page for the row's next version (fillfactor), such a rewrite stays
-- on its page and writes no index entry (a HOT update); on full pages each
-- one added an entry to every index. The customers' rows likewise (their
-- index: root). Pages written before keep their fill until rewritten.
ALTER TABLE analytics.tickets SET (fillfactor = 80);
ALTER TABLE analytics.customers SET (fillfactor = 80);
