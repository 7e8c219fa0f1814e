-- hub_reservations (0008) is inlined into its callers again. `text || bigint`
-- is only stable (anytextcat calls the other operand's output function), so
-- the body of the immutable function could not be inlined and ran as a
-- query of its own, parsed and planned afresh in every transaction, three
-- times per publish: about a tenth of a one-message publish's time in the
-- database (docs/benchmarks.md, "Profiles of 2026-12-02"). With the cast,
-- every step of the body is immutable.
CREATE OR REPLACE FUNCTION hub_reservations(p_topic_id bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$ SELECT 'hub_reservations_' || p_topic_id::text $fn$;
