-- Leaving a workspace is not being removed from it: someone who left may come back through
-- an invite, while removal by an admin stays final.
ALTER TABLE workspace_members
    ADD COLUMN left_by_choice boolean NOT NULL DEFAULT false;
