import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactCommand, redactFlagValue, redactText, redactUrl } from './redact.js';

describe('redactUrl', () => {
  it('masks the password of the user information, keeps the user', () => {
    assert.equal(redactUrl('http://bob:s3cret@hooks:9000/h'), 'http://bob:***@hooks:9000/h');
    assert.equal(redactUrl('http://bob:p@ss@hooks/h'), 'http://bob:***@hooks/h');
    assert.equal(redactUrl('ws://bob@relay:81/x'), 'ws://bob@relay:81/x');
  });

  it('masks the values of query parameters named as secrets, each repeat, keeps the others', () => {
    assert.equal(
      redactUrl('http://127.0.0.1:8086/write?db=x&u=bob&p=pw&p=pw2&precision=ns'),
      'http://127.0.0.1:8086/write?db=x&u=bob&p=***&p=***&precision=ns',
    );
    assert.equal(
      redactUrl('https://h/x?Token=a&sig=b&key=c&access_token=d&X-Amz-Signature=e&api-key=f&client_secret=g&page=2'),
      'https://h/x?Token=***&sig=***&key=***&access_token=***&X-Amz-Signature=***&api-key=***&client_secret=***&page=2',
    );
    assert.equal(redactUrl('http://h/x?q=a%20b&tok%65n=z#top'), 'http://h/x?q=a%20b&tok%65n=***#top');
  });

  it('masks token-like path segments, and the webhook token on Slack and Discord whatever it looks like', () => {
    assert.equal(
      redactUrl('https://hooks.slack.com/services/T0AB12CD3/B0AB12CD4/abcdefghijklmnopqrstuvwx'),
      'https://hooks.slack.com/services/T0AB12CD3/B0AB12CD4/***',
    );
    assert.equal(
      redactUrl('https://discord.com/api/webhooks/123456789012345678/abc?wait=true'),
      'https://discord.com/api/webhooks/123456789012345678/***?wait=true',
    );
    assert.equal(
      redactUrl('http://127.0.0.1:8065/hooks/xq7k3mfd1jbw8rn5u9ctzh4oyp'),
      'http://127.0.0.1:8065/hooks/***',
    );
    // Words a person chose, numeric ids and short segments stay: they say where the POST went.
    assert.equal(
      redactUrl('http://alerts.internal/hooks/incoming-webhook-handler/2024/42'),
      'http://alerts.internal/hooks/incoming-webhook-handler/2024/42',
    );
  });

  it('leaves a URL without secrets exactly as written', () => {
    for (const u of ['http://127.0.0.1:8080', 'HTTP://Staging:8080', 'http://[::1]:80/a?b=c', 'http://es:9200/gor']) {
      assert.equal(redactUrl(u), u);
    }
  });

  it('masks by pattern what is not a URL', () => {
    assert.equal(redactUrl('http://bob:pw@[bad/x'), 'http://bob:***@[bad/x');
    assert.equal(redactText('to http://h/write?db=x&token=abc: refused'), 'to http://h/write?db=x&token=***: refused');
  });
});

describe('redactCommand', () => {
  it('masks secret flags, environment assignments and URLs, keeps the rest', () => {
    assert.equal(
      redactCommand('TOKEN=abc ./mw.py --api-key k1 --token=t1 -p 80 --url http://u:pw@h/x?sig=s --verbose'),
      'TOKEN=*** ./mw.py --api-key *** --token=*** -p 80 --url http://u:***@h/x?sig=*** --verbose',
    );
    assert.equal(redactCommand('./mw.py  --debug'), './mw.py  --debug');
    // Quotes stay, so a warning about quoting still shows them.
    assert.equal(redactCommand(`mw --token 'abc' --key="d"`), `mw --token '***' --key="***"`);
  });
});

describe('redactFlagValue', () => {
  it('masks the value of a credential header or secret parameter, keeps other values and flags whole', () => {
    assert.equal(redactFlagValue('http-set-header', 'Authorization: Bearer abc'), 'Authorization: ***');
    assert.equal(redactFlagValue('http-set-header', 'Authorization Bearer abc'), 'Authorization ***');
    assert.equal(redactFlagValue('http-set-header', 'X-Api-Key:k1'), 'X-Api-Key:***');
    assert.equal(redactFlagValue('http-set-header', 'X-Real IP: 1.2.3.4'), 'X-Real IP: 1.2.3.4');
    assert.equal(redactFlagValue('http-set-param', 'access_token=abc'), 'access_token=***');
    assert.equal(redactFlagValue('http-set-param', 'page=2'), 'page=2');
    assert.equal(redactFlagValue('http-allow-header', 'Authorization: ^Bearer'), 'Authorization: ^Bearer');
  });
});
