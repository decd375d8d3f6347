-- A team's type, as Mattermost spells it: 'O' open (anyone on the server may join) or
-- 'I' invite only. Teams that the rules create are open; a bulk import (issue 12) sets
-- the type its team line gives, and an export writes it back. 0007 is another change's.
ALTER TABLE teams ADD COLUMN type TEXT NOT NULL DEFAULT 'O';
