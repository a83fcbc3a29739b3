/** What GraphiQL opens with: the three steps of a first session, and where the credential goes. */
export const GRAPHIQL_DEFAULT_DOCUMENT = `# Welcome to Atelier.
#
# 1. Run "Login" below (the ▶ button) with the admin password that ./atelier start printed.
# 2. Open the "Headers" tab at the bottom and paste:
#      { "Authorization": "Bearer <accessToken from step 1>" }
#    (an API key works too: "Bearer atl_…"). GraphiQL sends it with every query, mutation
#    and subscription; subscriptions stream over WebSocket with the same header.
# 3. Run "Generate", copy the job id into "Follow" and run it: progress streams until
#    the job completes, and result.urls are signed links you can open in the browser.

mutation Login {
  login(username: "admin", password: "change-me") { accessToken expiresIn }
}

mutation Generate {
  generateImage(input: { prompt: "a lighthouse at dusk, oil painting", width: 512, height: 512, steps: 30 }) {
    id
    status
    queuePosition
  }
}

subscription Follow {
  jobProgress(id: "paste-the-job-id") {
    status
    progress
    message
    etaSeconds
    result
    error { code message }
  }
}
`;
