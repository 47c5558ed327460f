import assert from 'node:assert/strict';
import { test } from 'node:test';
import { danglingServices } from './aws-services.js';

test('a services line whose section is missing is found with its line; the AWS CLI refuses such a profile', () => {
  const text =
    '# mine\n[default]\nregion = eu-west-1\nservices = my-minio\n\n[services my-mini0]\ns3 =\n  endpoint_url = http://m:9000\n';
  assert.deepEqual(danglingServices(text, 'default'), { line: 4, name: 'my-minio', profile: 'default' });
  // [profile NAME] headers, key names in any case, CRLF line ends.
  assert.deepEqual(danglingServices('[profile dev]\r\nServices = x\r\n', 'dev'), {
    line: 2,
    name: 'x',
    profile: 'dev',
  });
  assert.deepEqual(danglingServices('[profile default]\nservices = x\n', 'default')?.line, 2);
});

test("a services line with its section, another profile's, an indented one or one ignored is not", () => {
  assert.equal(
    danglingServices('[default]\nservices = m\n[services  m ]\ns3 =\n  endpoint_url = http://m\n', 'default'),
    undefined,
  );
  assert.equal(danglingServices('[profile dev]\nservices = x\n', 'default'), undefined);
  assert.equal(danglingServices('[default]\ns3 =\n  services = x\n', 'default'), undefined);
  assert.equal(danglingServices('[default]\n; services = x\n', 'default'), undefined);
  assert.equal(
    danglingServices('[default]\nservices = x\nignore_configured_endpoint_urls = true\n', 'default'),
    undefined,
  );
  assert.equal(danglingServices('', 'default'), undefined);
});
