// The tester function of the AWS Lambda Destinations walkthrough
// ("Introducing AWS Lambda Destinations", 2019), as an async handler:
// Node.js 24 and later reject callback-style handlers.
// {"Success": true} succeeds; anything else throws.
export const handler = async (event) => {
  console.log('Event received at:', new Date().toISOString());
  console.log('Received event:', JSON.stringify(event, null, 2));

  if (event?.Success) {
    console.log('Success');
    return { Success: true };
  }
  console.log('Failure');
  throw new Error('Failure from event, Success = false, I am failing!');
};
