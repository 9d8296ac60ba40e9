-- bi: free text is masked. Customers write phone numbers, emails, account
-- and card numbers into their messages and survey comments; BI readers see
-- those texts with each such run replaced by [phone], [email] or [number]
-- (bi.mask_personal below), in bi.surveys.comment and in bi.messages' new
-- subject and text columns. Names and addresses written as words are not
-- recognised: the masking narrows what BI sees, it does not anonymise.
--
-- The texts as written are in a schema of their own, bi_unmasked, keyed like
-- bi's views and read through a separate role, bi_reader_unmasked (NOLOGIN,
-- made by analytics.bi_setup below), that an operator grants to the login
-- roles that must see them: GRANT bi_reader_unmasked TO alice. A schema
-- rather than column grants: bi_reader keeps reading whole views
-- (SELECT * works), a grant names one role, and a view of bi_unmasked can
-- never appear in bi by a careless GRANT ... ON ALL TABLES.

-- --- the masking ----------------------------------------------------------------
-- Three passes, in this order: emails (before their digits are taken for a
-- number), phone numbers, then any run of at least 7 digits. A separator is
-- one space, no-break space, dot or dash between two digits ("~" in the
-- patterns below stands for it). Vietnamese phone spellings:
--   0912 345 678, 0912.345.678, 0912-345-678, 0912345678     (0 + 9 digits)
--   +84 912 345 678, +84912345678, (+84) 912..., 84-912-345-678
--   028 3822 1234, (028) 3822 1234, (08) 3822 1234, (0236) 382 1234
-- A number that runs on into more digits is not a phone but a [number]
-- (an account: 0912 345 678 9999). Dates (12/03/2024), times (09:30) and
-- short numbers stay; amounts of 7 digits or more (1.500.000 đồng) are
-- masked as numbers. Letters, diacritics and emoji are never touched.
CREATE FUNCTION bi.mask_personal(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT regexp_replace(regexp_replace(regexp_replace(t,
           p.email, '[email]', 'g'),
           p.phone, '[phone]', 'g'),
           p.digits, '[number]', 'g')
  FROM (SELECT '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+' AS email,
               replace('(?:(?:\(\s?\+?84\s?\)|\+\s?84|(?<![0-9A-Za-z])84)~?[1-9](?:~?[0-9]){7,9}'
                       '|\(0[1-9][0-9]{0,2}\)~?[1-9](?:~?[0-9]){6,7}'
                       '|(?<![0-9A-Za-z])0[1-9](?:~?[0-9]){7,9})(?!~?[0-9])', '~', s.sep) AS phone,
               replace('[0-9](?:~?[0-9]){6,}', '~', s.sep) AS digits
          FROM (SELECT '[ .\u00a0-]' AS sep) s) p
$fn$;

COMMENT ON FUNCTION bi.mask_personal(text) IS
    'The text with email addresses, phone numbers (Vietnamese spellings: 0912 345 678, '
    '+84 912 345 678, (028) 3822 1234 ...) and runs of 7 or more digits replaced by [email], '
    '[phone] and [number]. What bi.surveys and bi.messages show of free text.';

-- --- the texts as written ------------------------------------------------------------
CREATE SCHEMA bi_unmasked;
COMMENT ON SCHEMA bi_unmasked IS
    'The free text that bi shows masked, as the customer or agent wrote it. Read with a role '
    'granted bi_reader_unmasked; join to bi by the views'' ids.';

CREATE VIEW bi_unmasked.surveys AS
SELECT s.survey_id,
       s.comment
  FROM analytics.surveys s;

COMMENT ON VIEW bi_unmasked.surveys IS
    'Survey comments as written, one row per survey of bi.surveys (join on survey_id).';
COMMENT ON COLUMN bi_unmasked.surveys.survey_id IS 'The survey (bi.surveys).';
COMMENT ON COLUMN bi_unmasked.surveys.comment IS 'The customer''s comment, unmasked.';

CREATE VIEW bi_unmasked.messages AS
SELECT m.event_id AS message_id,
       m.subject,
       m.text
  FROM router.messages m;

COMMENT ON VIEW bi_unmasked.messages IS
    'Message subjects and texts as written, one row per message of bi.messages (join on '
    'message_id).';
COMMENT ON COLUMN bi_unmasked.messages.message_id IS 'The message (bi.messages).';
COMMENT ON COLUMN bi_unmasked.messages.subject IS 'The subject (email), unmasked.';
COMMENT ON COLUMN bi_unmasked.messages.text IS 'The text, unmasked.';

-- --- bi's views show the masked text -------------------------------------------------
CREATE OR REPLACE VIEW bi.surveys AS
SELECT s.survey_id,
       s.ticket_id,
       s.customer_id,
       s.channel,
       s.requested_at,
       (s.requested_at AT TIME ZONE z.tz)::date AS requested_day,
       s.answered_at,
       (s.answered_at AT TIME ZONE z.tz)::date AS answered_day,
       (s.answered_at IS NOT NULL) AS answered,
       s.csat,
       s.ces,
       (s.csat >= 4) AS csat_positive,
       bi.mask_personal(s.comment) AS comment
  FROM analytics.surveys s
 CROSS JOIN (SELECT coalesce(max(st.tz), 'Asia/Ho_Chi_Minh') AS tz FROM analytics.settings st) z;

COMMENT ON COLUMN bi.surveys.comment IS
    'The customer''s optional comment, phone numbers, emails and long numbers masked '
    '(bi.mask_personal; as written: bi_unmasked.surveys).';

CREATE OR REPLACE VIEW bi.messages AS
SELECT m.event_id AS message_id,
       m.ticket_id,
       m.customer_id,
       m.channel,
       m.direction,
       m.at,
       (m.at AT TIME ZONE z.tz)::date AS day,
       char_length(m.text) AS text_length,
       (m.subject IS NOT NULL) AS has_subject,
       bi.mask_personal(m.subject) AS subject,
       bi.mask_personal(m.text) AS text
  FROM router.messages m
 CROSS JOIN (SELECT coalesce(max(s.tz), 'Asia/Ho_Chi_Minh') AS tz FROM analytics.settings s) z;

COMMENT ON VIEW bi.messages IS
    'The timeline of every ticket: one row per contact, reply or note, its text masked.';
COMMENT ON COLUMN bi.messages.text_length IS
    'Length of the text as written, in characters.';
COMMENT ON COLUMN bi.messages.subject IS
    'The subject (email), phone numbers, emails and long numbers masked (bi.mask_personal; '
    'as written: bi_unmasked.messages).';
COMMENT ON COLUMN bi.messages.text IS
    'The text, phone numbers, emails and long numbers masked (bi.mask_personal; as written: '
    'bi_unmasked.messages).';

-- --- the roles -------------------------------------------------------------------------
-- As 0051_bi.sql, plus bi_reader_unmasked: a group role (no login) with
-- bi_reader's rights and bi_unmasked's views. carebus never grants it to
-- anyone; an operator does.
CREATE OR REPLACE FUNCTION analytics.bi_setup(p_verifier text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        CREATE ROLE bi_reader LOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- another database of the cluster made it first
    END;
    EXECUTE format('ALTER ROLE bi_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
                   p_verifier);
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO bi_reader', current_database());
    REVOKE ALL ON SCHEMA public FROM PUBLIC;
    GRANT USAGE ON SCHEMA bi TO bi_reader;
    GRANT SELECT ON ALL TABLES IN SCHEMA bi TO bi_reader;
    ALTER DEFAULT PRIVILEGES IN SCHEMA bi GRANT SELECT ON TABLES TO bi_reader;

    BEGIN
        CREATE ROLE bi_reader_unmasked NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
    END;
    IF NOT pg_has_role('bi_reader_unmasked', 'bi_reader', 'MEMBER') THEN
        GRANT bi_reader TO bi_reader_unmasked;
    END IF;
    GRANT USAGE ON SCHEMA bi_unmasked TO bi_reader_unmasked;
    GRANT SELECT ON ALL TABLES IN SCHEMA bi_unmasked TO bi_reader_unmasked;
    ALTER DEFAULT PRIVILEGES IN SCHEMA bi_unmasked GRANT SELECT ON TABLES TO bi_reader_unmasked;
END;
$$;
