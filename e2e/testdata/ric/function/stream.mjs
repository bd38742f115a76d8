// For e2e/nodejs_test.go: a response-streaming handler. aws-lambda-ric posts
// its response with Node's http (not libcurl), chunked, on a connection of its
// own; a failure after the first chunks travels in the trailers
// Lambda-Runtime-Function-Error-Type and -Body. {"Fail": true} fails so.
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType('text/plain');
  for (let i = 0; i < 3; i++) {
    responseStream.write(`chunk ${i}\n`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (event?.Fail) {
    throw new Error('stream failed midway');
  }
  responseStream.end();
});
