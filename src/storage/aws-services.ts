/**
 * A `services = NAME` line in the shared AWS config file whose `[services NAME]` section is missing. The AWS CLI
 * (botocore) refuses such a profile ('The profile is configured to use the services section but the "NAME"
 * services configuration does not exist.'); the JavaScript SDK ignores the line, so the endpoint the user put
 * in that section (a MinIO, a Ceph) was passed over without a word and requests went to AWS itself.
 */

/** Where the dangling line is: its 1-based line number, the section name it gives, the profile it is in. */
export interface DanglingServices {
  readonly line: number;
  readonly name: string;
  readonly profile: string;
}

/**
 * The profile's `services` line when the file has no section of that name, else undefined. The file is read as
 * botocore reads it: `[default]` or `[profile NAME]` headers, `[services NAME]` sections, top-level keys start
 * the line (an indented line continues the one before), `#` and `;` start comments, key names in any case. A
 * profile with `ignore_configured_endpoint_urls = true` never looks at its services, so it is not judged.
 */
export function danglingServices(text: string, profile: string): DanglingServices | undefined {
  const sections = new Set<string>();
  let found: DanglingServices | undefined;
  let ignored = false;
  let inProfile = false;
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    if (/^\s*[#;]/.test(line) || line.trim() === '') continue;
    const header = /^\s*\[([^\]]*)\]/.exec(line);
    if (header) {
      const parts = header[1]!.trim().split(/\s+/);
      if (parts.length === 2 && parts[0] === 'services') sections.add(parts[1]!);
      inProfile =
        (parts.length === 2 && parts[0] === 'profile' && parts[1] === profile) ||
        (parts.length === 1 && parts[0] === 'default' && profile === 'default');
      continue;
    }
    if (!inProfile || /^\s/.test(line)) continue;
    const setting = /^([^=\s]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!setting) continue;
    const key = setting[1]!.toLowerCase();
    if (key === 'services') found = { line: i + 1, name: setting[2]!, profile };
    if (key === 'ignore_configured_endpoint_urls') ignored = setting[2]!.toLowerCase() === 'true';
  }
  if (!found || ignored || sections.has(found.name)) return undefined;
  return found;
}
