-- Nested groups (issue 15; store/group.go, MaxGroupAncestors). group_groups holds a
-- group's member groups: group_pk contains member_pk. group_ancestors is its closure,
-- reflexive and transitive: one row per group and each group containing it at any depth,
-- itself included (every group has its own row from its creation), so that an account's
-- groups for provisioning are one join, user_groups. Both change only under the lock
-- lockGroupGraph, and group_groups never holds a cycle.
CREATE TABLE group_groups (
    group_pk  BIGINT NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    member_pk BIGINT NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    PRIMARY KEY (group_pk, member_pk)
);
CREATE INDEX group_groups_member ON group_groups (member_pk);

CREATE TABLE group_ancestors (
    group_pk    BIGINT NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    ancestor_pk BIGINT NOT NULL REFERENCES groups (pk) ON DELETE CASCADE,
    PRIMARY KEY (group_pk, ancestor_pk)
);
CREATE INDEX group_ancestors_ancestor ON group_ancestors (ancestor_pk);
INSERT INTO group_ancestors (group_pk, ancestor_pk) SELECT pk, pk FROM groups;

-- Every group an account is in: group_pk, directly (direct_pk = group_pk) or through the
-- nested group direct_pk it is a direct member of. An account reached by two paths has a
-- row for each.
CREATE VIEW user_groups AS
SELECT gm.user_pk, a.ancestor_pk AS group_pk, gm.group_pk AS direct_pk
FROM group_members gm JOIN group_ancestors a ON a.group_pk = gm.group_pk;
