/**
 * The API command groups of `portcullis` (registered in src/cli/main.ts), in the order help and
 * docs/cli.md list them. To add a group, list its GroupSpec here and regenerate docs/cli.md
 * (`node src/cli/api/docs.ts > docs/cli.md`; test/cli/docs.test.ts checks it is current).
 */
import type { Command } from "../command.ts";
import { functionsGroup } from "../functions.ts";
import { accessGroup } from "./commands/access.ts";
import { accountGroup } from "./commands/account.ts";
import { clientCertificateGroup } from "./commands/client-certificate.ts";
import { eventsGroup } from "./commands/events.ts";
import { hostnameGroup } from "./commands/hostname.ts";
import { hostnameAssociationGroup } from "./commands/hostname-association.ts";
import { loginCommand, profileGroup } from "./commands/login.ts";
import { mtlsCertificateGroup } from "./commands/mtls-certificate.ts";
import { originPullGroup } from "./commands/origin-pull.ts";
import { rulesetGroup } from "./commands/ruleset.ts";
import { statusCommand } from "./commands/status.ts";
import { tokenGroup } from "./commands/token.ts";
import { zoneGroup } from "./commands/zone.ts";
import { type Spec, toCommand } from "./framework.ts";
import { makeClient } from "./profile.ts";

export const API_GROUPS: readonly Spec[] = [
  loginCommand,
  profileGroup,
  statusCommand,
  accountGroup,
  zoneGroup,
  mtlsCertificateGroup,
  hostnameGroup,
  hostnameAssociationGroup,
  clientCertificateGroup,
  originPullGroup,
  rulesetGroup,
  accessGroup,
  eventsGroup,
  tokenGroup,
  functionsGroup,
];

/** The groups as main.ts's commands. */
export function apiCommands(): Command[] {
  return API_GROUPS.map((spec) => toCommand(spec, { makeClient }));
}
