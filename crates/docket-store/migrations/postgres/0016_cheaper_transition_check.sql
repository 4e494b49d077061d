-- The check that an item moves only along its state machine, decided in the trigger's WHEN:
-- the PL/pgSQL function (which raises the error) is now called only for an illegal move,
-- instead of once for every item a claim or a completion updates.
DROP TRIGGER items_legal_transition ON items;
CREATE TRIGGER items_legal_transition BEFORE UPDATE OF state ON items
FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state AND (OLD.state || '>' || NEW.state) NOT IN (
    'pending>running', 'pending>cancelled',
    'running>succeeded', 'running>failed', 'running>cancelled', 'running>retrying', 'running>pending',
    'retrying>running', 'retrying>cancelled',
    'failed>pending'))
EXECUTE FUNCTION items_legal_transition();
