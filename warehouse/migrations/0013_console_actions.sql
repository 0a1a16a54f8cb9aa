-- Trust-and-safety actions from the console join the audit trail: an analyst's decision on a
-- fraud-held gift, platform-wide bans and their lifting, and an alert acknowledged with a note.
-- Appending Enum8 values is a metadata-only change.
ALTER TABLE moderation_actions MODIFY COLUMN `kind` Enum8('ban' = 1, 'unban' = 2, 'timeout' = 3, 'delete_message' = 4, 'set_modes' = 5, 'set_banned_terms' = 6, 'approve_held' = 7, 'deny_held' = 8, 'add_moderator' = 9, 'remove_moderator' = 10, 'close_room' = 11, 'approve_gift' = 12, 'deny_gift' = 13, 'platform_ban' = 14, 'platform_unban' = 15, 'ack_alert' = 16);
