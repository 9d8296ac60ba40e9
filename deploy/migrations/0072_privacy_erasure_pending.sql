-- Erasing a customer reaches what is still to be sent to them.
--
-- courier: before courier.erase runs, courier gives up, in the same
-- consumer transaction, every delivery to the erased customers not yet done
-- (status failed, last_error_code 'customer_erased', their recipient, body
-- and message redacted at once; each message among them reported by
-- message.failed), but the webhooks announcing customer.erased itself
-- (services/courier/intent.c, intent_give_up_customers). So nothing is
-- sent to an erased recipient after the erasure (an attempt already in
-- flight may still arrive), and courier.erase, as 0071 made it, then finds
-- only done deliveries to redact: 0071's XXX about pending ones no longer
-- holds, and 0060's note on the table's personal columns is answered by
-- both.
--
-- survey: an invitation still scheduled for an erased customer is deleted,
-- as a reopen deletes one (0040): it is never requested, so never sent to
-- "[erased]". One already requested stays (it was sent; scores stay for
-- the KPIs), redacted as before. A rebuild reads the same: the erasure
-- comes after the survey was scheduled in the log, and the due pass waits
-- for the router's events up to the due time.
CREATE OR REPLACE FUNCTION survey.erase(p_ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM survey.surveys WHERE customer_id = ANY (p_ids) AND status = 'scheduled';
    UPDATE survey.answers a SET comment = privacy.redact(a.comment)
      FROM survey.surveys s WHERE s.id = a.survey_id AND s.customer_id = ANY (p_ids);
    UPDATE survey.surveys SET handle = privacy.redact(handle), text = privacy.redact(text)
     WHERE customer_id = ANY (p_ids);
$$;
