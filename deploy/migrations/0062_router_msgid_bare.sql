-- An email's msg-id is stored bare ("left@right", libcarebus/msgid.h), as
-- the inbound parser always stored it: the router's own Message-IDs and the
-- ids integrators gave through the API were kept in angle brackets, so a
-- customer's In-Reply-To could not name them directly. The router now
-- stores every email's id bare; the rows it wrote before follow.
UPDATE router.messages
   SET external_id = substr(btrim(external_id), 2, length(btrim(external_id)) - 2)
 WHERE channel = 'email'
   AND btrim(external_id) LIKE '<%>'
   AND length(btrim(external_id)) > 2;
