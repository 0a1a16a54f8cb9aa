-- Room moderators are appointed and removed, and rooms closed, through the moderation API;
-- those actions join the audit trail. Appending Enum8 values is a metadata-only change.
ALTER TABLE moderation_actions MODIFY COLUMN `kind` Enum8('ban' = 1, 'unban' = 2, 'timeout' = 3, 'delete_message' = 4, 'set_modes' = 5, 'set_banned_terms' = 6, 'approve_held' = 7, 'deny_held' = 8, 'add_moderator' = 9, 'remove_moderator' = 10, 'close_room' = 11);
