// A real LTI 1.3 tool for the external tools tests: ltijs (IMS certified), its data in
// PostgreSQL through ltijs-sequelize. Everything LTI here is ltijs's own code; this file
// only gives it pages to show what it received and buttons to use its services.
//
//   node server.js <port> <postgres url>
// Prints "ready" once listening. POST /peer/platform (JSON, ltijs registerPlatform's
// arguments) registers Lyceum; the test learns our client id first. Or Lyceum opens
// /register (Dynamic Registration) and ltijs registers itself.
'use strict'
const lti = require('ltijs').Provider
const Database = require('ltijs-sequelize')

const port = Number(process.argv[2])
const pg = new URL(process.argv[3])
const db = new Database(pg.pathname.slice(1), decodeURIComponent(pg.username || 'postgres'), decodeURIComponent(pg.password || ''), {
  host: pg.hostname,
  port: Number(pg.port || 5432),
  dialect: 'postgres',
  logging: false
})

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]))
const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`

lti.setup('lyceum-test-ltijs-key', { plugin: db }, {
  devMode: true, // cookies are not needed: ltik tokens carry the session
  tokenMaxAge: 120, // a loaded CI machine: the id_token may take a while to arrive
  cookies: { secure: false, sameSite: 'Lax' },
  // LTI Dynamic Registration (ltijs's own DynamicRegistration service at /register): a
  // platform opens /register?openid_configuration=...&registration_token=... and ltijs
  // registers itself there, then records the platform (active at once: the platform's
  // administrator activates the tool on their side).
  dynReg: {
    url: `http://127.0.0.1:${port}/`,
    name: 'ltijs drills',
    description: 'Drills, registered by ltijs itself',
    customParameters: { via: 'dynamic-registration' },
    autoActivate: true
  }
})

lti.onConnect(async (token, req, res) => {
  const ltik = res.locals.ltik
  const ctx = token.platformContext
  return res.send(page('ltijs tool', `
    <dl id="launch">
      <dt>user</dt><dd id="user">${esc(token.user)}</dd>
      <dt>name</dt><dd id="name">${esc(token.userInfo && token.userInfo.name)}</dd>
      <dt>email</dt><dd id="email">${esc(token.userInfo && token.userInfo.email)}</dd>
      <dt>roles</dt><dd id="roles">${esc((ctx.roles || []).join(' '))}</dd>
      <dt>context</dt><dd id="context">${esc(ctx.context && ctx.context.title)}</dd>
      <dt>resource</dt><dd id="resource">${esc(ctx.resource && ctx.resource.title)}</dd>
      <dt>custom</dt><dd id="custom">${esc(JSON.stringify(ctx.custom || {}))}</dd>
      <dt>target</dt><dd id="target">${esc(ctx.targetLinkUri)}</dd>
    </dl>
    <form method="post" action="/peer/grade?ltik=${encodeURIComponent(ltik)}">
      <label>Score <input name="score" value="85"></label> / 100
      <button id="grade" type="submit">Send my score</button></form>
    <form method="get" action="/peer/roster">
      <input type="hidden" name="ltik" value="${esc(ltik)}">
      <button id="roster" type="submit">Read the roster</button></form>`))
})

lti.onDeepLinking(async (token, req, res) => {
  const ltik = res.locals.ltik
  return res.send(page('Pick content', `
    <form method="post" action="/peer/deeplink?ltik=${encodeURIComponent(ltik)}">
      <label><input type="checkbox" name="item" value="algebra" checked> Algebra drill</label>
      <label><input type="checkbox" name="item" value="geometry"> Geometry drill</label>
      <button id="pick" type="submit">Add to the course</button></form>`))
})

lti.app.post('/peer/deeplink', async (req, res) => {
  const token = res.locals.token
  const chosen = [].concat(req.body.item || [])
  const items = chosen.map((name) => ({
    type: 'ltiResourceLink',
    title: name === 'algebra' ? 'Algebra drill' : 'Geometry drill',
    url: `http://127.0.0.1:${port}/`,
    custom: { drill: name },
    lineItem: { scoreMaximum: 100, label: name, resourceId: name }
  }))
  const form = await lti.DeepLinking.createDeepLinkingForm(token, items, { message: 'Added' })
  return res.send(form)
})

lti.app.post('/peer/grade', async (req, res) => {
  const token = res.locals.token
  try {
    const score = {
      userId: token.user,
      scoreGiven: Number(req.body.score),
      scoreMaximum: 100,
      activityProgress: 'Completed',
      gradingProgress: 'FullyGraded'
    }
    const result = await lti.Grade.submitScore(token, token.platformContext.endpoint.lineitem, score)
    return res.send(page('Score sent', `<p id="grade-result">sent ${esc(JSON.stringify(result))}</p>`))
  } catch (err) {
    return res.status(500).send(page('Score refused', `<p id="grade-error">${esc(err.message)}</p>`))
  }
})

lti.app.get('/peer/roster', async (req, res) => {
  try {
    const result = await lti.NamesAndRoles.getMembers(res.locals.token)
    const rows = result.members.map((m) => `<li class="member" data-user="${esc(m.user_id)}">${esc(m.name)} &lt;${esc(m.email)}&gt; ${esc(m.roles.join(' '))}</li>`)
    return res.send(page('Roster', `<p id="context">${esc(result.context.title)}</p><ul id="members">${rows.join('')}</ul>`))
  } catch (err) {
    return res.status(500).send(page('Roster refused', `<p id="roster-error">${esc(err.message)}</p>`))
  }
})

lti.app.post('/peer/platform', async (req, res) => {
  const platform = await lti.registerPlatform(req.body)
  return res.json({ kid: await platform.platformKid() })
})
lti.whitelist({ route: '/peer/platform', method: 'POST' })

lti.deploy({ port, silent: true }).then(() => console.log('ready'))
